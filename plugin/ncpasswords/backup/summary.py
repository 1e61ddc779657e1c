"""What `backup:list --details` shows of a backup (docs/internals/backup-format.md#size-and-details): its version, the
number of users in `settings.users` and the number of entities of each kind, as PHP's
`json_decode` would see them - a file it cannot decode counts as null (version 0, nothing inside).

The file is read in bounded memory: values are decoded by the C scanner only within a window of
the text, and anything longer (a huge string, a deep structure) is stepped over piece by piece and
never held whole. The bytes come through the one gunzip path with its bomb limit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from .compression import GzipBombError
from .errors import BackupFormatError
from .jsontext import PHP_MAX_DEPTH, SURROGATE_ESCAPE, WINDOW, JsonText, check_depth, reject_constant
from .source import BackupSource, open_backup

#: ``entities`` keys of the detailed backup info, in output order.
ENTITY_COUNT_KEYS: Final = ("passwords", "folders", "tags", "shares", "keychains", "challenges")

_PHP_TYPE_NAMES: Final = {bool: "bool", int: "int", float: "float", str: "string"}
# Member names are compared only when short (the names looked for are).
_KEY_TEXT: Final = 64
# Distinct member names remembered per object (PHP counts a name given twice once).
_MAX_NAMES: Final = 1 << 20
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"')
_STRING_RUN = re.compile(r'[^"\\\x00-\x1f]*')
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_DIGITS = re.compile(r"[0-9]*")
_NUMBER_START: Final = frozenset("-0123456789")
# A JSON number as a small automaton: state -> {character class -> next state}. States: 0 start,
# 1 minus, 2 leading zero, 3 integer digits, 4 point, 5 fraction digits, 6 e, 7 exponent sign,
# 8 exponent digits.
_NUMBER_STEPS: Final[dict[int, dict[str, int]]] = {
    0: {"-": 1, "0": 2, "d": 3},
    1: {"0": 2, "d": 3},
    2: {".": 4, "e": 6},
    3: {"d": 3, "0": 3, ".": 4, "e": 6},
    4: {"d": 5, "0": 5},
    5: {"d": 5, "0": 5, "e": 6},
    6: {"+": 7, "-": 7, "d": 8, "0": 8},
    7: {"d": 8, "0": 8},
    8: {"d": 8, "0": 8},
}
_NUMBER_DONE: Final = frozenset({2, 3, 5, 8})
_NUMBER_CHARS: Final = frozenset("+-.eE0123456789")


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where a pattern that always matches (a `*` run) ends."""
    match = pattern.match(text, pos)
    assert match is not None
    return match.end()


class _Null(Exception):
    """json_decode() would return null for this document."""


_DECODER = json.JSONDecoder(parse_constant=reject_constant)
_FAILED: Any = object()


class _Scanner(JsonText):
    """A JSON text walked member by member; values are counted or stepped over, never kept."""

    # -- values ----------------------------------------------------------------------------------
    def decode(self, depth: int) -> Any:
        """The value here, decoded when it fits the window (else _FAILED, nothing consumed);
        `depth` containers enclose it."""
        self.peek()
        self.ensure(WINDOW)
        try:
            value, end = _DECODER.raw_decode(self.text, self.pos)
        except (ValueError, RecursionError):
            return _FAILED
        if end >= len(self.text) and not self.eof:  # a number may go on
            return _FAILED
        if SURROGATE_ESCAPE.search(self.text, self.pos, end):
            return _FAILED  # the step-over checks the pairs
        check_depth(self.text, self.pos, end, value, PHP_MAX_DEPTH - depth)
        self.pos = end
        return value

    def skip(self, depth: int) -> None:
        """Step over the value here, however long or deep, holding none of it: what fits the
        window is decoded whole, the rest is walked token by token."""
        closers: list[str] = []
        while True:
            if self.decode(depth + len(closers)) is _FAILED:
                char = self.peek()
                if char in ("{", "["):
                    if depth + len(closers) >= PHP_MAX_DEPTH:
                        raise _Null
                    self.pos += 1
                    closer = "}" if char == "{" else "]"
                    if self.peek() == closer:
                        self.pos += 1
                    else:
                        closers.append(closer)
                        if closer == "}":
                            self.string()
                            self.expect(":")
                        continue
                elif char == '"':
                    self.string()
                elif char and char in _NUMBER_START:
                    self.number()
                else:
                    self.literal()
            while closers:  # after a value: the next member, or the end of containers
                char = self.peek()
                if char == ",":
                    self.pos += 1
                    if closers[-1] == "}":
                        self.string()
                        self.expect(":")
                    break
                if char != closers[-1]:
                    raise _Null
                self.pos += 1
                closers.pop()
            else:
                return

    def string(self) -> str | None:
        """Consume a string; its value when its text is short (member names), else None."""
        if self.peek() != '"':
            raise _Null
        self.ensure(_KEY_TEXT + 2)
        # Only a short text is matched whole: the pattern's memory grows with what it matches.
        match = _STRING.match(self.text, self.pos, self.pos + _KEY_TEXT + 2)
        if match is not None:
            raw = match.group()
            if SURROGATE_ESCAPE.search(raw):
                try:
                    json.loads(raw).encode("utf-8")
                except UnicodeEncodeError:
                    raise _Null from None
            self.pos = match.end()
            return str(json.loads(raw))
        self._long_string()
        return None

    def _long_string(self) -> None:
        """Step over a string that runs past the window, checking it as PHP does."""
        self.pos += 1
        high = False  # a high surrogate escape waits for its low half
        while True:
            end = _match_end(_STRING_RUN, self.text, self.pos)
            if end > self.pos:
                if high:
                    raise _Null
                self.pos = end
            if self.pos >= len(self.text):
                if not self.fill():
                    raise _Null
                continue
            char = self.text[self.pos]
            if char == '"':
                if high:
                    raise _Null
                self.pos += 1
                return
            if char != "\\":
                raise _Null  # a control character
            self.ensure(6)
            escape = self.text[self.pos + 1 : self.pos + 2]
            if escape == "u":
                digits = self.text[self.pos + 2 : self.pos + 6]
                if not _HEX4.fullmatch(digits):
                    raise _Null
                code = int(digits, 16)
                is_low = 0xDC00 <= code <= 0xDFFF
                if is_low != high:
                    raise _Null
                high = 0xD800 <= code <= 0xDBFF
                self.pos += 6
            elif escape and escape in '"\\/bfnrt' and not high:
                self.pos += 2
            else:
                raise _Null

    def number(self) -> None:
        state = 0
        while True:
            if self.pos >= len(self.text):
                if not self.fill():
                    break
                continue
            char = self.text[self.pos]
            if char not in _NUMBER_CHARS:
                break
            if state in (3, 5, 8) and char.isdigit():
                self.pos = _match_end(_DIGITS, self.text, self.pos)
                continue
            kind = "d" if char in "123456789" else "e" if char in "eE" else char
            following = _NUMBER_STEPS[state].get(kind)
            if following is None:
                raise _Null
            state = following
            self.pos += 1
        if state not in _NUMBER_DONE:
            raise _Null

    def literal(self) -> None:
        self.ensure(5)
        for word in ("true", "false", "null"):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return
        raise _Null

    # -- what --details reads ----------------------------------------------------------------------
    def count(self, depth: int) -> tuple[str, Any]:
        """("count", n) for a list or object (distinct member names), ("value", v) for a scalar."""
        char = self.peek()
        if char not in ("[", "{"):
            value = self.decode(depth)
            if value is _FAILED:
                self.skip(depth)
                value = "" if char == '"' else 0.0  # too long for the window: only its type matters
            return "value", value
        if depth >= PHP_MAX_DEPTH:
            raise _Null
        self.pos += 1
        closer = "]" if char == "[" else "}"
        names: set[str] = set()
        count = 0
        if self.peek() == closer:
            self.pos += 1
            return "count", 0
        while True:
            if closer == "}":
                name = self.string()
                self.expect(":")
                if name is not None and len(names) < _MAX_NAMES:
                    if name in names:
                        count -= 1
                    names.add(name)
            self.skip(depth + 1)
            count += 1
            char = self.peek()
            self.pos += 1
            if char == closer:
                return "count", count
            if char != ",":
                raise _Null

    def members(self, depth: int) -> Any:
        """(name, None) for each member of the object here, positioned at its value; the caller
        consumes the value. A value that is not an object is stepped over (no members)."""
        if self.peek() != "{":
            self.skip(depth)
            return
        if depth >= PHP_MAX_DEPTH:
            raise _Null
        self.pos += 1
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            name = self.string()
            self.expect(":")
            yield name
            char = self.peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                raise _Null

    def document(self) -> dict[str, tuple[str, Any]] | None:
        """The members --details needs (the last of equal names wins, as in PHP): `version`,
        `settings` (its `users`) and the entity lists; None when the top level is not an object."""
        found: dict[str, tuple[str, Any]] = {}
        is_object = self.peek() == "{"
        for name in self.members(0):
            if name == "version":
                value = self.decode(1)
                if value is _FAILED:
                    self.skip(1)
                    value = "(too long to show)"
                found["version"] = ("value", value)
            elif name == "settings":
                found.pop("users", None)
                for inner in self.members(1):
                    if inner == "users":
                        found["users"] = self.count(2)
                    else:
                        self.skip(2)
            elif name in ENTITY_COUNT_KEYS:
                found[name] = self.count(1)
            else:
                self.skip(1)
        if self.peek():
            raise _Null
        return found if is_object else None


def _php_count(value: Any) -> int:
    if isinstance(value, Mapping | list):
        return len(value)
    type_name = _PHP_TYPE_NAMES.get(type(value), type(value).__name__)
    raise TypeError(f"count(): Argument #1 ($value) must be of type Countable|array, {type_name} given")


def _member_count(entry: tuple[str, Any] | None) -> int:
    if entry is None:
        return 0
    kind, value = entry
    if kind == "count":
        return int(value)
    if value is None:  # isset() is false for null
        return 0
    return _php_count(value)


def summarize(source: BackupSource, gzip: bool) -> dict[str, Any]:
    """`version`, `users` and `entities` of a backup (`gzip`: unpack as the name says).

    Raises GzipBombError for a bomb, OSError for read problems and TypeError where PHP's count()
    would throw.
    """
    try:
        with open_backup(source, gzip) as stream:
            found = _Scanner(stream).document() or {}
    except GzipBombError:
        raise
    except (_Null, BackupFormatError):  # PHP's gzdecode or json_decode failed: null
        found = {}
    version = found.get("version", ("value", None))[1]
    return {
        "version": 0 if version is None else version,
        "users": _member_count(found.get("users")),
        "entities": {key: _member_count(found.get(key)) for key in ENTITY_COUNT_KEYS},
    }
