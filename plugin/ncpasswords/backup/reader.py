"""Reading backup files: gzip or plain JSON, streamed, upgraded to v106.

The bytes come from `source.open_backup` (the one gunzip path, with the bomb limit). What PHP's
`json_decode` refuses is refused here too: invalid UTF-8 or JSON, unpaired surrogate escapes, a
document nested deeper than 512 levels; and a number beyond PHP's float range (`1e400`), which PHP
reads as INF but can never write back, is refused as well. Entities, keys and settings are checked
by `validation`.

A v106 document is read as a stream: a background thread inflates the gzip data, the top level is
walked by hand and every entity of a list section is decoded on its own by the C scanner of the
`json` module, so a restore holds one model with its revisions in memory, never the whole file.
Older versions (100–105) are small by nature and need whole-document context for their upgrade
(the user keys that re-encrypt revisions come after the entities), so they are loaded whole, up to
a size limit.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from .document import MODEL_SECTIONS, ROW_SECTIONS
from .errors import BackupFormatError
from .source import CHUNK, BackupSource, open_backup, open_path
from .upgrade import upgrade_document, validate_version

# Older versions are upgraded in memory; bigger documents of those versions are refused.
MAX_LEGACY_BYTES = 512 << 20
# PHP's json_decode refuses a document nested deeper than this (its default depth).
PHP_MAX_DEPTH = 512

SECTIONS = (*MODEL_SECTIONS, *ROW_SECTIONS, "keys", "settings")
_LIST_SECTIONS = frozenset((*MODEL_SECTIONS, *ROW_SECTIONS))
_CHUNK = CHUNK
_TOO_DEEP = f"The backup file is not valid JSON (nested deeper than {PHP_MAX_DEPTH} levels)"


@dataclass
class Document:
    """A parsed backup: version, then the sections in document order as (name, value) items."""

    version: int
    items: Iterator[tuple[str, Any]]
    original_version: int = 106
    counts: dict[str, int] = field(default_factory=dict)


class _NotStreamable(Exception):
    """The document does not start with `{"version":`; it is read whole instead."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid literal {name}")


def _php_float(text: str) -> float:
    """A JSON number with a fraction or exponent; one beyond the float range is refused."""
    value = float(text)
    if math.isinf(value):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise BackupFormatError(f"The backup holds a number beyond PHP's range: {shown}")
    return value


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_php_float)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# A \uD800-\uDFFF escape: a high surrogate with the low one that pairs with it (when it follows
# right away, as JSON decoders pair them), or a surrogate on its own, which PHP's json_decode
# refuses (JSON_ERROR_UTF16), `json` decodes to an unpaired surrogate and no database can store.
_SURROGATE_ESCAPE = re.compile(
    r"\\u(?:[dD][89abAB][0-9a-fA-F]{2}(?P<low>\\u[dD][c-fC-F][0-9a-fA-F]{2})?|[dD][c-fC-F][0-9a-fA-F]{2})"
)
_UNPAIRED = "The backup file is not valid JSON (a single unpaired UTF-16 surrogate)"


def _check_surrogates(text: str, start: int, end: int) -> None:
    """Refuse JSON text (decoded without error) whose strings would hold an unpaired UTF-16
    surrogate: read from the escapes, without walking the decoded value."""
    pos = start
    while (match := _SURROGATE_ESCAPE.search(text, pos, end)) is not None:
        at = match.start()
        before = at
        while before > start and text[before - 1] == "\\":
            before -= 1
        if (at - before) % 2:  # an escaped backslash, then the letter u: not an escape
            pos = at + 1
            continue
        if match["low"] is None:
            raise BackupFormatError(_UNPAIRED)
        pos = match.end()


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply lists and objects nest in `value` (0 for a scalar), counted up to `limit + 1`."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def check_depth(text: str, start: int, end: int, value: Any, limit: int) -> None:
    """Refuse `value` (decoded from `text[start:end]`) when it nests deeper than `limit`.

    Only a text with more brackets than the limit can nest that deep, so the decoded value is
    walked only then.
    """
    if text.count("[", start, end) + text.count("{", start, end) > limit and nesting_depth(value, limit) > limit:
        raise BackupFormatError(_TOO_DEEP)


# A decoding error this close to the end of the window may come from a token cut in two.
_TOKEN_MARGIN = 64
# Text kept ahead of the value being decoded.
_READ_AHEAD = 256 << 10


class _JsonText:
    """A JSON text read incrementally: the top level walked by hand, values decoded whole.

    Values come from the C scanner of `json` on a window of the decoded text; one that does not end
    inside the window is decoded again once more text has been read (the window at least doubles
    each time, so a big value costs a few passes, not one per chunk).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self.text = ""
        self.pos = 0
        self.eof = False
        self._offset = 0  # characters dropped from the front of `text`

    def _fill(self, at_least: int = 1) -> bool:
        """Read until `at_least` more characters are available (or EOF); False if none came."""
        if self.eof:
            return False
        if self.pos:
            self._offset += self.pos
            self.text = self.text[self.pos :]
            self.pos = 0
        wanted = len(self.text) + at_least
        parts = [self.text]
        size = len(self.text)
        try:
            while size < wanted:
                data = self._stream.read(_CHUNK)
                chunk = self._decoder.decode(data, final=not data)
                parts.append(chunk)
                size += len(chunk)
                if not data:
                    self.eof = True
                    break
        except UnicodeDecodeError:
            raise BackupFormatError("The backup file is not valid UTF-8") from None
        grew = size > len(self.text)
        self.text = "".join(parts)
        return grew

    def error(self, message: str) -> BackupFormatError:
        return BackupFormatError(f"The backup file is not valid JSON ({message})")

    def peek(self) -> str:
        """The next character after whitespace ('' at the end)."""
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self._fill():
                return ""

    def expect(self, chars: str) -> str:
        char = self.peek()
        if not char or char not in chars:
            found = repr(char) if char else "the end of the file"
            raise self.error(f"expected {' or '.join(repr(c) for c in chars)}, found {found}")
        self.pos += 1
        return char

    def value(self, max_depth: int = PHP_MAX_DEPTH) -> Any:
        """Decode the value at the current position (after whitespace); it may nest `max_depth`
        levels (what PHP's depth limit leaves at its place in the document)."""
        if not self.peek():
            raise self.error("unexpected end of the file")
        if not self.eof and len(self.text) - self.pos < _READ_AHEAD:
            self._fill(_CHUNK)  # entities are far smaller: decoding one rarely has to start over
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                # The window may end inside the value: a string runs on, or a token near the end
                # was cut. Anything else is an error that more text cannot mend.
                cut = exc.msg.startswith("Unterminated string") or exc.pos >= len(self.text) - _TOKEN_MARGIN
                if cut and self._fill(max(_CHUNK, len(self.text) - self.pos)):
                    continue
                raise self.error(f"{exc.msg} at character {self._offset + exc.pos}") from None
            except ValueError as exc:
                raise self.error(str(exc)) from None
            except RecursionError:
                raise BackupFormatError(_TOO_DEEP) from None
            if end >= len(self.text) and not self.eof:  # a number or literal may go on
                self._fill(max(_CHUNK, len(self.text) - self.pos))
                continue
            _check_surrogates(self.text, self.pos, end)
            check_depth(self.text, self.pos, end, value, max_depth)
            self.pos = end
            return value


# Nesting left for a value at its place: the document is level 1, a list section level 2.
_MEMBER_DEPTH = PHP_MAX_DEPTH - 1
_ITEM_DEPTH = PHP_MAX_DEPTH - 2


def _stream_document(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """(name, value) of a top-level object: list sections item by item, other members whole.

    Raises _NotStreamable before yielding anything when the first member is not `version`.
    """
    reader = _JsonText(stream)
    if reader.peek() != "{":
        raise _NotStreamable
    reader.pos += 1
    opened: set[str] = set()
    seen: set[str] = set()
    first = True
    while True:
        if not first and reader.expect(",}") == "}":
            break
        if reader.peek() != '"':
            if first:
                raise _NotStreamable
            raise reader.error("expected a member name")
        name = reader.value()
        reader.expect(":")
        if first:
            if name != "version":
                raise _NotStreamable
            first = False
            seen.add(name)
            yield name, reader.value(_MEMBER_DEPTH)
            continue
        if name in _LIST_SECTIONS:
            if reader.peek() != "[":
                raise BackupFormatError(f"The backup's '{name}' is not a list")
            if name in opened:
                raise BackupFormatError(f"The backup has the section '{name}' twice")
            opened.add(name)
            reader.pos += 1
            if reader.peek() == "]":
                reader.pos += 1
                continue
            while True:
                yield name, reader.value(_ITEM_DEPTH)
                if reader.expect(",]") == "]":
                    break
            continue
        if name in seen:
            raise BackupFormatError(f"The backup has the section '{name}' twice")
        seen.add(name)
        yield name, reader.value(_MEMBER_DEPTH)
    if reader.peek():
        raise reader.error("trailing data after the document")


def read_document(source: BackupSource | str | os.PathLike[str], server_secret: str) -> Document:
    """Read a backup: an open `BackupSource` (which stays open), or a path opened here.

    The returned items must be consumed (or closed) before the source is closed. Raises
    BackupVersionError for versions outside 100–106 and BackupFormatError for anything that is not
    a backup.
    """
    if isinstance(source, BackupSource):
        return _read(source, server_secret, lambda: None)
    opened = open_path(source)
    try:
        return _read(opened, server_secret, opened.close)
    except BaseException:
        opened.close()
        raise


def _read(source: BackupSource, server_secret: str, done: Callable[[], None]) -> Document:
    stream = open_backup(source)
    try:
        items = _stream_document(stream)
        try:
            first = next(items)
        except (_NotStreamable, StopIteration):
            stream.close()
            return _read_whole(source, server_secret, done)
        version = first[1]
        validate_version(version)
        if version != 106:
            stream.close()
            return _read_whole(source, server_secret, done)
    except BaseException:
        stream.close()
        raise
    return Document(106, _closing(items, stream, done), 106)


def _closing(
    items: Iterator[tuple[str, Any]],
    stream: IO[bytes],
    done: Callable[[], None],
) -> Iterator[tuple[str, Any]]:
    try:
        yield from items
    finally:
        stream.close()
        done()


class _TopLevelDuplicates:
    """`object_pairs_hook` that remembers the names given twice in the object decoded last (the
    top level, which closes after everything inside it)."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        self.names = []
        if len(obj) != len(pairs):
            seen: set[str] = set()
            for name, _ in pairs:
                if name in seen:
                    self.names.append(name)
                seen.add(name)
        return obj


def _read_whole(source: BackupSource, server_secret: str, done: Callable[[], None]) -> Document:
    """Load, validate and upgrade a document that cannot be streamed (old versions, key order)."""
    with open_backup(source) as stream:
        data = stream.read(MAX_LEGACY_BYTES + 1)
    done()
    if len(data) > MAX_LEGACY_BYTES:
        raise BackupFormatError("The backup file is too large to be upgraded from its version")
    try:  # strictly UTF-8 as PHP reads it: no byte order mark skipped, no UTF-16 guessed
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BackupFormatError("The backup file is not valid UTF-8") from None
    del data
    duplicates = _TopLevelDuplicates()
    try:
        doc = json.loads(text, parse_constant=_reject_constant, parse_float=_php_float, object_pairs_hook=duplicates)
    except ValueError as exc:
        raise BackupFormatError(f"The backup file is not valid JSON: {exc}") from None
    except RecursionError:
        raise BackupFormatError(_TOO_DEEP) from None
    _check_surrogates(text, 0, len(text))
    check_depth(text, 0, len(text), doc, PHP_MAX_DEPTH)
    del text
    if not isinstance(doc, dict) or "version" not in doc:
        raise BackupFormatError("The file does not contain a valid server backup")
    if duplicates.names:
        raise BackupFormatError(f"The backup has the section '{duplicates.names[0]}' twice")
    original = doc["version"]
    validate_version(original)
    doc = upgrade_document(doc, server_secret)

    def items() -> Iterator[tuple[str, Any]]:
        for section in SECTIONS:
            value = doc.get(section)
            if section in MODEL_SECTIONS or section in ROW_SECTIONS:
                if value is None:
                    continue
                if not isinstance(value, list):
                    raise BackupFormatError(f"The backup's '{section}' is not a list")
                for item in value:
                    yield section, item
            elif section in doc:
                yield section, value

    return Document(106, items(), int(original))
