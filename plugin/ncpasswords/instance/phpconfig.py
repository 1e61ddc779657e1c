"""Read and write Nextcloud's ``config/config.php``.

Nextcloud keeps its system configuration in a PHP file that assigns an array
to ``$CONFIG``.  Nextcloud itself writes the file as ``"<?php\\n$CONFIG = "``
followed by PHP's ``var_export()`` of the array and ``";\\n"``, but admins edit
it by hand, so :func:`parse` accepts the general PHP literal syntax (both
array syntaxes, every string and number notation, comments, ``.`` between
strings) while rejecting anything that would need a PHP interpreter (function
calls, constants, other operators, variable interpolation, other statements).
Files that do need one (the ``*.config.php`` files of Nextcloud's Docker image
read environment variables) are read by :mod:`.phpscan`.

A PHP array is represented as an insertion-ordered ``dict`` with ``int`` or
``str`` keys; scalars map to ``str``, ``int``, ``float``, ``bool`` and
``None``.  :func:`dump` produces byte for byte what PHP 8's ``var_export``
produces, so a file written by :func:`write` is indistinguishable from one
written by Nextcloud.

PHP strings are bytes.  Bytes that are not UTF-8 are kept as Python does for
file names (``surrogateescape``: byte 0xE9 alone becomes ``"\udce9"``), so
such a value reads and writes back unchanged; NUL bytes are written as
``var_export`` writes them (``'a' . "\0" . 'b'``) and read back, as is any
concatenation of string literals.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn, TypeAlias

from ..fsutil import atomic_write
from ..php.arrays import array_key
from ..php.numbers import INT64_MAX
from ..php.var_export import VarExportError, var_export

__all__ = [
    "PhpArray",
    "PhpConfigError",
    "PhpValue",
    "dump",
    "parse",
    "parse_literal",
    "read",
    "write",
]

PhpValue: TypeAlias = "str | int | float | bool | dict[int | str, PhpValue] | None"
"""A PHP value as found in config.php: a scalar or a (nested) array."""

PhpArray: TypeAlias = "dict[int | str, PhpValue]"
"""A PHP array: insertion ordered, keys are ints or strings."""

#: Mode Nextcloud gives config.php on every write.
CONFIG_FILE_MODE = 0o640

_MAX_DEPTH = 256


class PhpConfigError(Exception):
    """A config.php that cannot be read, or a config that cannot be written.

    ``filename`` and ``line`` (1-based) are set when the error is tied to a
    place in a file; the message always names them then.
    """

    def __init__(self, message: str, *, filename: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.filename = filename
        self.line = line


# --------------------------------------------------------------------------
# Lexer
# --------------------------------------------------------------------------

_WHITESPACE = " \t\n\r"
# PHP's label characters: a-z, A-Z, _ and every byte from 0x80 (every non-ASCII character here),
# written as negated ASCII sets: a class spanning U+0080-U+10FFFF takes `re` ~7 ms to compile,
# which every command would pay at start-up.
LABEL_START = r"[^\x00-\x40\x5b-\x5e\x60\x7b-\x7f]"
LABEL_CHAR = r"[^\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f]"
_NAME_START = re.compile(LABEL_START)
_NAME = re.compile(LABEL_START + LABEL_CHAR + "*")
_NUMBER = re.compile(
    r"""
      (?P<hex>0[xX][0-9a-fA-F]+(?:_[0-9a-fA-F]+)*)
    | (?P<bin>0[bB][01]+(?:_[01]+)*)
    | (?P<oct>0[oO][0-7]+(?:_[0-7]+)*)
    | (?P<dec>
        (?: (?:[0-9]+(?:_[0-9]+)*)?\.[0-9]+(?:_[0-9]+)*
          | [0-9]+(?:_[0-9]+)*\.(?:[0-9]+(?:_[0-9]+)*)?
          | [0-9]+(?:_[0-9]+)*
        )
        (?:[eE][+-]?[0-9]+(?:_[0-9]+)*)?
      )
    """,
    re.VERBOSE,
)
_DIGITS = frozenset("0123456789")
_OCTAL_ESCAPE = re.compile(r"[0-7]{1,3}")
_HEX_ESCAPE = re.compile(r"[0-9a-fA-F]{1,2}")
_UNICODE_ESCAPE = re.compile(r"\{([0-9a-fA-F]+)\}")
_NUMBER_TAIL = re.compile(LABEL_CHAR + "+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SQ_PLAIN = re.compile(r"[^'\\]+")
_DQ_PLAIN = re.compile(r'[^"\\${]+')
_DQ_SIMPLE_ESCAPES = {
    "n": b"\n",
    "t": b"\t",
    "r": b"\r",
    "v": b"\v",
    "e": b"\x1b",
    "f": b"\f",
    "\\": b"\\",
    "$": b"$",
    '"': b'"',
}
# Multi-character operators worth naming in an error message as a whole.
_OPERATORS = ("?>", "=>", "#[", "::", "->", "<<<", "??", "**", "...", "==", "!=", "<=", ">=", "&&", "||")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "str", "int", "float", "name", "var", "op", "close", "eof"
    value: str | int | float
    pos: int
    text: str


class _Lexer:
    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self.closed = False
        self._line_starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]

    # -- errors --------------------------------------------------------------

    def line_of(self, pos: int) -> int:
        return bisect.bisect_right(self._line_starts, pos)

    def error(self, pos: int, reason: str, kind: str = "Syntax error") -> NoReturn:
        line = self.line_of(pos)
        raise PhpConfigError(f"{kind} in {self.filename} on line {line}: {reason}", filename=self.filename, line=line)

    # -- the open tag ----------------------------------------------------------

    def open_tag(self) -> None:
        text = self.text
        if text[:5].lower() != "<?php":
            if text.startswith("\ufeff"):
                self.error(0, "the file starts with a byte order mark; it must start with '<?php'")
            start = text.find("<?php")
            if start > 0:
                self.error(0, "unexpected content before '<?php'")
            self.error(0, "the file does not start with '<?php'")
        if len(text) > 5 and text[5] not in _WHITESPACE:
            self.error(0, "'<?php' must be followed by whitespace")
        self.pos = 5

    # -- tokens ----------------------------------------------------------------

    def _skip_space_and_comments(self) -> None:
        text = self.text
        n = len(text)
        while self.pos < n:
            c = text[self.pos]
            if c in _WHITESPACE:
                self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.error(self.pos, "unterminated comment")
                self.pos = end + 2
            elif text.startswith("//", self.pos) or (c == "#" and not text.startswith("#[", self.pos)):
                # A one-line comment ends at the line break or just before '?>'.
                end = self.pos
                while end < n and text[end] not in "\r\n" and not text.startswith("?>", end):
                    end += 1
                self.pos = end
            else:
                return

    def next(self) -> _Token:
        if self.closed:
            return _Token("eof", "", len(self.text), "end of file")
        self._skip_space_and_comments()
        text = self.text
        start = self.pos
        if start >= len(text):
            return _Token("eof", "", start, "end of file")
        c = text[start]
        if c == "'":
            return self._single_quoted(start)
        if c == '"':
            return self._double_quoted(start)
        if c in _DIGITS or (c == "." and text[start + 1 : start + 2] in _DIGITS):
            return self._number(start)
        if c == "$":
            m = _NAME.match(text, start + 1)
            if m is None:
                self.pos = start + 1
                return _Token("op", "$", start, "$")
            self.pos = m.end()
            return _Token("var", m.group(), start, "$" + m.group())
        m = _NAME.match(text, start)
        if m is not None:
            self.pos = m.end()
            return _Token("name", m.group(), start, m.group())
        if text.startswith("?>", start):
            self._close_tag(start)
            return _Token("close", "?>", start, "?>")
        for op in _OPERATORS:
            if text.startswith(op, start):
                self.pos = start + len(op)
                return _Token("op", op, start, op)
        self.pos = start + 1
        return _Token("op", c, start, c)

    def _close_tag(self, start: int) -> None:
        # After '?>' PHP would print whatever follows; allow only whitespace.
        rest = self.text[start + 2 :]
        stripped = rest.lstrip(_WHITESPACE)
        if stripped:
            self.error(len(self.text) - len(stripped), "unexpected content after '?>'")
        self.pos = len(self.text)
        self.closed = True

    def _single_quoted(self, start: int) -> _Token:
        text = self.text
        n = len(text)
        i = start + 1
        parts: list[str] = []
        while True:
            if i >= n:
                self.error(start, "unterminated string")
            m = _SQ_PLAIN.match(text, i)
            if m is not None:
                parts.append(m.group())
                i = m.end()
                continue
            c = text[i]
            if c == "'":
                i += 1
                break
            # A backslash: only \' and \\ are escapes.
            nxt = text[i + 1 : i + 2]
            if nxt in ("'", "\\"):
                parts.append(nxt)
                i += 2
            else:
                parts.append("\\")
                i += 1
        self.pos = i
        return _Token("str", "".join(parts), start, text[start:i])

    def _double_quoted(self, start: int) -> _Token:
        text = self.text
        n = len(text)
        i = start + 1
        out = bytearray()
        while True:
            if i >= n:
                self.error(start, "unterminated string")
            m = _DQ_PLAIN.match(text, i)
            if m is not None:
                out += _to_bytes(m.group())
                i = m.end()
                continue
            c = text[i]
            if c == '"':
                i += 1
                break
            if c == "$":
                nxt = text[i + 1 : i + 2]
                if nxt == "{" or (nxt and _NAME_START.match(nxt)):
                    self.error(i, "variables in double-quoted strings are not supported")
                out += b"$"
                i += 1
            elif c == "{":
                if text.startswith("{$", i):
                    self.error(i, "variables in double-quoted strings are not supported")
                out += b"{"
                i += 1
            else:  # a backslash
                i = self._dq_escape(i, out)
        self.pos = i
        return _Token("str", out.decode("utf-8", "surrogateescape"), start, text[start:i])

    def _dq_escape(self, i: int, out: bytearray) -> int:
        """Decode the escape sequence at text[i] == '\\'; return the next index."""
        text = self.text
        e = text[i + 1 : i + 2]
        simple = _DQ_SIMPLE_ESCAPES.get(e)
        if simple is not None:
            out += simple
            return i + 2
        if e and e in "01234567":
            m = _OCTAL_ESCAPE.match(text, i + 1)
            assert m is not None
            out.append(int(m.group(), 8) & 0xFF)
            return m.end()
        if e == "x":
            m = _HEX_ESCAPE.match(text, i + 2)
            if m is not None:
                out.append(int(m.group(), 16))
                return m.end()
        if e == "u" and text.startswith("{", i + 2):
            m = _UNICODE_ESCAPE.match(text, i + 2)
            if m is None:
                self.error(i, "invalid UTF-8 codepoint escape sequence")
            codepoint = int(m.group(1), 16)
            if codepoint > 0x10FFFF:
                self.error(i, "invalid UTF-8 codepoint escape sequence: codepoint too large")
            out += chr(codepoint).encode("utf-8", "surrogatepass")
            return m.end()
        # Unknown escape: the backslash stays, the next character is read normally.
        out += b"\\"
        return i + 1

    def _number(self, start: int) -> _Token:
        text = self.text
        m = _NUMBER.match(text, start)
        assert m is not None
        end = m.end()
        tail = _NUMBER_TAIL.match(text, end)
        if tail is not None:
            self.error(start, f"invalid numeric literal '{text[start : tail.end()]}'")
        self.pos = end
        literal = m.group()
        digits = literal.replace("_", "")
        value: int
        if m.group("hex") is not None:
            value = int(digits[2:], 16)
        elif m.group("bin") is not None:
            value = int(digits[2:], 2)
        elif m.group("oct") is not None:
            value = int(digits[2:], 8)
        elif any(ch in digits for ch in ".eE"):
            return _Token("float", float(digits), start, literal)
        elif len(digits) > 1 and digits[0] == "0":
            if any(ch in digits for ch in "89"):
                self.error(start, f"invalid numeric literal '{literal}'")
            value = int(digits, 8)
        else:
            value = int(digits)
            if value > INT64_MAX:
                # PHP turns an integer literal that overflows into a float.
                return _Token("float", float(digits), start, literal)
        if value > INT64_MAX:
            return _Token("float", float(value), start, literal)
        return _Token("int", value, start, literal)


# --------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------


def _to_bytes(text: str) -> bytes:
    """The bytes a decoded piece of PHP source stands for (see the module docstring)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate given in a str: kept as PHP's \u{...} would
        return text.encode("utf-8", "surrogatepass")


def _describe(tok: _Token) -> str:
    if tok.kind == "eof":
        return "unexpected end of file"
    if tok.kind == "str":
        preview = tok.text.splitlines()[0]
        if len(preview) > 40 or preview != tok.text:
            preview = preview[:40] + "..."
        return f"unexpected string {preview}"
    return f"unexpected '{tok.text}'"


class _Parser:
    def __init__(self, lexer: _Lexer) -> None:
        self.lexer = lexer
        self.tok = self.lexer.next()

    def advance(self) -> _Token:
        tok = self.tok
        self.tok = self.lexer.next()
        return tok

    def is_op(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.value == op

    def unexpected(self, tok: _Token | None = None) -> NoReturn:
        tok = tok or self.tok
        self.lexer.error(tok.pos, _describe(tok))

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            self.unexpected()
        self.advance()

    def parse_file(self) -> PhpArray:
        config: PhpValue = None
        assigned_at: int | None = None
        while self.tok.kind != "eof":
            if self.tok.kind == "close" or self.is_op(";"):
                self.advance()
                continue
            if self.tok.kind != "var":
                self.unexpected()
            if self.tok.value != "CONFIG":
                self.lexer.error(self.tok.pos, f"only $CONFIG may be assigned, found '{self.tok.text}'")
            self.advance()
            self.expect_op("=")
            assigned_at = self.tok.pos
            config = self.parse_value(0)
            if self.tok.kind == "close":
                self.advance()
            else:
                self.expect_op(";")
        if assigned_at is None:
            self.lexer.error(len(self.lexer.text), "the file does not assign $CONFIG", "Invalid config")
        if not isinstance(config, dict):
            self.lexer.error(assigned_at, "$CONFIG is not an array", "Invalid config")
        return config

    def parse_value(self, depth: int) -> PhpValue:
        tok = self.tok
        if tok.kind == "str":
            self.advance()
            return self.parse_concatenation(str(tok.value))
        if tok.kind in ("int", "float"):
            self.advance()
            return tok.value
        if tok.kind == "op":
            if tok.value == "[":
                self.advance()
                return self.parse_elements("]", depth + 1, tok)
            if tok.value in ("-", "+"):
                return self.parse_signed_number()
            self.unexpected()
        if tok.kind == "name":
            assert isinstance(tok.value, str)
            word = tok.value.lower()
            if word == "array":
                self.advance()
                self.expect_op("(")
                return self.parse_elements(")", depth + 1, tok)
            if word in ("true", "false", "null"):
                self.advance()
                return {"true": True, "false": False, "null": None}[word]
            self.advance()
            if self.is_op("("):
                self.lexer.error(tok.pos, f"function calls are not supported: '{tok.text}(...)'")
            self.lexer.error(tok.pos, f"constants are not supported: '{tok.text}'")
        self.unexpected()

    def parse_concatenation(self, value: str) -> str:
        """`'a' . "\\0" . 'b'`: var_export's spelling of a string holding NUL bytes."""
        while self.is_op("."):
            self.advance()
            tok = self.tok
            if tok.kind != "str":
                self.unexpected()
            self.advance()
            value = (_to_bytes(value) + _to_bytes(str(tok.value))).decode("utf-8", "surrogateescape")
        return value

    def parse_signed_number(self) -> int | float:
        negate = False
        while self.is_op("-") or self.is_op("+"):
            if self.advance().value == "-":
                negate = not negate
        tok = self.tok
        if tok.kind not in ("int", "float"):
            self.unexpected()
        self.advance()
        assert isinstance(tok.value, int | float)
        return -tok.value if negate else tok.value

    def parse_elements(self, closer: str, depth: int, opener: _Token) -> PhpArray:
        if depth > _MAX_DEPTH:
            self.lexer.error(opener.pos, "arrays are nested too deeply")
        result: PhpArray = {}
        max_int_key: int | None = None
        while not self.is_op(closer):
            key_tok = self.tok
            value = self.parse_value(depth)
            key: int | str
            if self.is_op("=>"):
                self.advance()
                key = self.array_key(value, key_tok)
                value = self.parse_value(depth)
            else:
                key = 0 if max_int_key is None else max_int_key + 1
                if key > INT64_MAX:
                    self.lexer.error(key_tok.pos, "cannot add an element: the next array index is already occupied")
            if isinstance(key, int) and (max_int_key is None or key > max_int_key):
                max_int_key = key
            result[key] = value
            if self.is_op(","):
                self.advance()
            elif not self.is_op(closer):
                self.unexpected()
        self.advance()
        return result

    def array_key(self, key: PhpValue, tok: _Token) -> int | str:
        if isinstance(key, bool) or not isinstance(key, int | str):
            self.lexer.error(tok.pos, "array keys must be strings or integers")
        return array_key(key)


def parse(source: str | bytes, filename: str = "<string>") -> PhpArray:
    """Parse the text of a config.php and return its ``$CONFIG`` array.

    ``filename`` is only used in error messages.  Raises :class:`PhpConfigError`.
    """
    text = source.decode("utf-8", "surrogateescape") if isinstance(source, bytes) else source
    lexer = _Lexer(text, filename)
    lexer.open_tag()
    return _Parser(lexer).parse_file()


def parse_literal(lexer: _Lexer, start: int, end: int) -> PhpValue:
    """The literal value that spans `lexer.text[start:end]` exactly (:mod:`.phpscan` reads the
    literal parts of files with code this way). Raises :class:`PhpConfigError`."""
    lexer.pos, lexer.closed = start, False
    parser = _Parser(lexer)
    value = parser.parse_value(0)
    if parser.tok.pos != end:
        parser.unexpected()
    return value


def read(path: str | os.PathLike[str]) -> PhpArray:
    """Read and parse a config.php file.

    Raises :class:`PhpConfigError` for a malformed file and ``OSError`` when it
    cannot be read.
    """
    with open(path, "rb") as f:
        data = f.read()
    return parse(data, os.fspath(path))


# --------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------


def dump(config: Mapping[int | str, PhpValue]) -> str:
    """Return the config.php text Nextcloud would write for ``config``.

    That is ``"<?php\\n$CONFIG = "``, PHP 8's ``var_export()`` of the array and
    ``";\\n"``.  Raises :class:`PhpConfigError` for a value PHP's var_export
    cannot express as a plain literal (non-finite floats, integers outside 64
    bits, strings with surrogates that stand for no byte, other Python types).
    """
    if not isinstance(config, Mapping):
        raise PhpConfigError("Cannot write config: $CONFIG must be an array (a dict)")
    try:
        return "<?php\n$CONFIG = " + var_export(config, "$CONFIG") + ";\n"
    except VarExportError as exc:
        raise PhpConfigError(f"Cannot write config: {exc}") from None


def write(path: str | os.PathLike[str], config: Mapping[int | str, PhpValue]) -> None:
    """Atomically replace the config.php at ``path`` with ``config``
    (:func:`~ncpasswords.fsutil.atomic_write`).

    The new file gets mode 0640 (as Nextcloud does) and, when running as root, the owner and group
    of the file it replaces. A symlink at ``path`` is followed, so the file it points to is
    replaced. On any failure the original file is untouched.
    """
    data = dump(config).encode("utf-8", "surrogateescape")
    target = os.path.realpath(os.fspath(path))
    prefix = "." + os.path.basename(target) + "."
    with atomic_write(target, mode=CONFIG_FILE_MODE, prefix=prefix, suffix=".tmp", keep_owner=True) as out:
        out.write(data)
