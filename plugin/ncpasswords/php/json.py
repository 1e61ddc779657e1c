"""PHP's ``json_encode`` and ``json_decode`` (docs/internals/backup-format.md#json-encoding).

The reference writes backups with ``json_encode($data)`` and no flags.  The output rules are:

* compact, separators ``,`` and ``:``; object keys in insertion order;
* ``/`` is escaped as ``\\/`` everywhere (keys and values);
* everything outside printable ASCII is escaped as ``\\uXXXX`` with lowercase hex, using UTF-16
  surrogate pairs above U+FFFF; ``\\b \\f \\n \\r \\t`` use short escapes; DEL (0x7F) stays raw;
* integers, ``true``/``false``/``null`` as usual; floats as PHP with ``serialize_precision = -1``;
* a Python ``dict`` is a PHP array: an empty one is written ``[]``; numeric-string keys become
  integer keys and a map whose keys are exactly ``0 .. n-1`` in order is written as a JSON list;
  use :class:`JsonObject` for something that must always be an object (``{}`` when empty);
* a string that is not valid Unicode (lone surrogates) makes PHP fail; :class:`PhpJsonError` here.

``dumps(value)`` takes a fast path through the C ``json`` encoder when the value is plain (dicts
with string keys, lists, str/int/bool/None): ``json.dumps(ensure_ascii=True)`` already produces
PHP's escapes except for ``/`` (never escaped by Python) and DEL (escaped by Python).  ``/`` can only
occur inside strings of the output (never in numbers, literals, structure or escape sequences) so a
plain replace is exact; DEL escapes are turned back into raw bytes where the backslash is not itself
escaped.  Everything else goes through a small pure-Python encoder with the same rules.

For large documents use :func:`iterencode` / :func:`dump` with :class:`JsonStream` values: the
document is produced piece by piece and stream items are encoded one at a time.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from json.encoder import encode_basestring_ascii as _c_escape
from typing import Any, Final, Protocol

from .arrays import array_key
from .numbers import INT64_MAX, INT64_MIN, float_json

__all__ = [
    "BinaryWriter",
    "JsonObject",
    "JsonStream",
    "PhpJsonError",
    "dump",
    "dumps",
    "encode_float",
    "encode_string",
    "iterencode",
    "json_decode",
    "php_array_key",
]


_MSG_UTF8: Final = "Malformed UTF-8 characters, possibly incorrectly encoded"
_MSG_INF_NAN: Final = "Inf and NaN cannot be JSON encoded"
_MSG_TYPE: Final = "Type is not supported"


class BinaryWriter(Protocol):
    """Anything with a binary ``write`` (files, gzip streams, the storage writers)."""

    def write(self, data: bytes, /) -> int: ...


class PhpJsonError(ValueError):
    """The value cannot be encoded; PHP's ``json_encode`` would return ``false``.

    The message is PHP's ``json_last_error_msg()`` text for the corresponding error.
    """


class JsonObject(dict[Any, Any]):
    """A mapping that is always written as a JSON object (``{}`` when empty).

    Plain dicts follow PHP array rules (empty → ``[]``, keys ``0..n-1`` → list).  Keys are written
    as strings; integer keys are converted with ``str()``.
    """


class JsonStream:
    """A JSON array whose items are produced lazily by an iterable.

    Only :func:`iterencode` / :func:`dump` consume it; each item is encoded with :func:`dumps`
    (so items must not contain further streams).  The iterable is consumed once.
    """

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


# --------------------------------------------------------------------------------------------
# helpers

_PLAIN_SCALARS: Final = frozenset({str, int, bool, type(None)})
_is_plain_scalar_type = _PLAIN_SCALARS.__contains__
_only_str = frozenset({str}).issuperset

# ``\u007f`` produced by Python for DEL where the backslash starts an escape (even run before it).
_DEL_ESCAPE_RE: Final = re.compile(r"(?<!\\)((?:\\\\)*)\\u007f")


def php_array_key(key: Any) -> int | str:
    """The key PHP stores for ``$array[key]`` (:func:`~.arrays.array_key`); an integer beyond 64
    bits cannot be encoded."""
    stored = array_key(key)
    if isinstance(stored, str):
        return stored
    if isinstance(stored, int):
        if not INT64_MIN <= stored <= INT64_MAX:
            raise PhpJsonError(_MSG_TYPE)
        return stored
    raise TypeError(f"unsupported key type for a PHP array: {type(key).__name__}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid literal {name}")


def _integer(text: str) -> int | float:
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else float(text)


def _php_array_of(value: Any) -> Any:
    if isinstance(value, list):
        return {i: _php_array_of(item) for i, item in enumerate(value)}
    if isinstance(value, dict):
        return {array_key(key): _php_array_of(item) for key, item in value.items()}
    return value


def json_decode(raw: str) -> Any:
    """``json_decode($raw, true)`` as PHP does it: no NaN/Infinity literals, integers beyond 64 bits
    become floats, objects and lists become PHP arrays (dicts with PHP's keys). Raises ValueError
    for what PHP refuses, invalid UTF-8 (kept as surrogate escapes) and unpaired ``\\uD800``-style
    escapes included."""
    try:
        _check_strings(raw)
        decoded = json.loads(raw, parse_constant=_reject_constant, parse_int=_integer)
        _check_strings(decoded)
        return _php_array_of(decoded)
    except PhpJsonError:
        raise ValueError("malformed UTF-8 or an unpaired surrogate") from None
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _php_array(value: Mapping[Any, Any]) -> list[Any] | dict[str, Any]:
    """Apply PHP array semantics to a mapping: a list when the keys are 0..n-1, else an object."""
    normalised: dict[int | str, Any] = {}
    for key, item in value.items():
        # Assigning an existing key keeps its first position and takes the last value, like PHP.
        normalised[php_array_key(key)] = item
    for expected, key in enumerate(normalised):
        if key != expected or type(key) is not int:
            return {str(k): v for k, v in normalised.items()}
    return list(normalised.values())


def _is_plain(value: Any) -> bool:
    """True when the C ``json`` encoder plus the fix-ups in :func:`_finish` are byte-exact."""
    kind = type(value)
    if _is_plain_scalar_type(kind):
        return True
    if kind is dict:
        if not value or "0" in value or not _only_str(map(type, value)):
            return False
        values = value.values()
    elif kind is list:
        values = value
    else:
        return False
    if all(map(_is_plain_scalar_type, map(type, values))):
        return True
    return all(map(_is_plain, values))


def _check_strings(value: Any) -> None:
    """Raise :class:`PhpJsonError` if any string (key or value) in ``value`` is not valid Unicode."""
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise PhpJsonError(_MSG_UTF8) from None
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_strings(item)


def _finish(text: str, value: Any) -> str:
    """Turn ``json.dumps(value, ensure_ascii=True)`` output into PHP's bytes."""
    # Look for escapes before ``/`` becomes ``\\/``; a one-character search is a cheap memchr.
    if "\\" in text and "\\u" in text:
        if "\\u007f" in text:
            text = _DEL_ESCAPE_RE.sub("\\1\x7f", text)
        if "\\ud" in text:
            # Astral characters or surrogates: PHP rejects unpaired surrogates (invalid UTF-8).
            _check_strings(value)
    return text.replace("/", "\\/")


_c_encoder: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False, allow_nan=False)
_c_encode = _c_encoder.encode


# --------------------------------------------------------------------------------------------
# scalar encoders


def encode_string(value: str) -> str:
    """One PHP JSON string literal, quotes included."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise PhpJsonError(_MSG_UTF8) from None
    text: str = _c_escape(value)
    text = text.replace("/", "\\/")
    if "\\u007f" in text:
        text = _DEL_ESCAPE_RE.sub("\\1\x7f", text)
    return text


def encode_float(value: float) -> str:
    """A float as PHP's ``json_encode`` writes it with ``serialize_precision = -1``
    (:func:`~.numbers.float_json`): ``1.0e+25``, ``1.0e-5``, ``10``. NaN and infinities cannot be
    encoded."""
    if not math.isfinite(value):
        raise PhpJsonError(_MSG_INF_NAN)
    return float_json(value)


# --------------------------------------------------------------------------------------------
# general encoder (slow path)


def _encode(value: Any, parts: list[str], indent: str | None, level: int) -> None:
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(encode_string(value))
    elif isinstance(value, int):
        parts.append(int.__repr__(value))
    elif isinstance(value, float):
        parts.append(encode_float(value))
    elif isinstance(value, JsonObject):
        _encode_object({str(php_array_key(k)): v for k, v in value.items()}, parts, indent, level)
    elif isinstance(value, Mapping):
        converted = _php_array(value)
        if isinstance(converted, list):
            _encode_list(converted, parts, indent, level)
        else:
            _encode_object(converted, parts, indent, level)
    elif isinstance(value, list | tuple):
        _encode_list(value, parts, indent, level)
    elif isinstance(value, JsonStream):
        _encode_list(list(value.items), parts, indent, level)
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not PHP JSON serializable")


def _encode_list(items: Iterable[Any], parts: list[str], indent: str | None, level: int) -> None:
    iterator = iter(items)
    first = next(iterator, _MISSING)
    if first is _MISSING:
        parts.append("[]")
        return
    if indent is None:
        parts.append("[")
        _encode(first, parts, None, level)
        for item in iterator:
            parts.append(",")
            _encode(item, parts, None, level)
        parts.append("]")
        return
    inner = "\n" + indent * (level + 1)
    parts.append("[" + inner)
    _encode(first, parts, indent, level + 1)
    for item in iterator:
        parts.append("," + inner)
        _encode(item, parts, indent, level + 1)
    parts.append("\n" + indent * level + "]")


def _encode_object(members: Mapping[str, Any], parts: list[str], indent: str | None, level: int) -> None:
    if not members:
        parts.append("{}")
        return
    if indent is None:
        separator = "{"
        for key, item in members.items():
            parts.append(separator + encode_string(key) + ":")
            _encode(item, parts, None, level)
            separator = ","
        parts.append("}")
        return
    inner = "\n" + indent * (level + 1)
    separator = "{" + inner
    for key, item in members.items():
        parts.append(separator + encode_string(key) + ": ")
        _encode(item, parts, indent, level + 1)
        separator = "," + inner
    parts.append("\n" + indent * level + "}")


_MISSING: Final = object()


def dumps(value: Any, *, pretty: bool = False) -> str:
    """Encode ``value`` exactly like PHP's ``json_encode($value)``.

    ``pretty=True`` gives ``json_encode($value, JSON_PRETTY_PRINT)`` (4 spaces, ``": "``).  The
    result is pure ASCII except for raw DEL characters.  Raises :class:`PhpJsonError` where PHP
    fails (invalid Unicode, NaN/INF) and :class:`TypeError` for unsupported Python types.
    """
    try:
        return _dumps(value, pretty)
    except RecursionError:
        # PHP nests up to 512 levels, and every level costs this encoder a few frames.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + _DEEP_FRAMES)
        try:
            return _dumps(value, pretty)
        finally:
            sys.setrecursionlimit(limit)


# Frames that encoding a value nested as deeply as PHP allows can take on top of the caller's.
_DEEP_FRAMES: Final = 4 * 512


def _dumps(value: Any, pretty: bool) -> str:
    if not pretty and _is_plain(value):
        return _finish(_c_encode(value), value)
    parts: list[str] = []
    _encode(value, parts, "    " if pretty else None, 0)
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# streaming


def iterencode(value: Any) -> Iterator[str]:
    """Yield the compact PHP JSON of ``value`` in pieces; ``"".join(...)`` equals :func:`dumps`.

    Mappings are walked key by key (so :class:`JsonStream` values anywhere inside nested mappings
    are streamed); each :class:`JsonStream` item and every other value is encoded whole with
    :func:`dumps`.
    """
    if isinstance(value, JsonStream):
        separator = "["
        for item in value.items:
            yield separator
            yield dumps(item)
            separator = ","
        yield "[]" if separator == "[" else "]"
    elif isinstance(value, Mapping) and any(isinstance(item, JsonStream | Mapping) for item in value.values()):
        if isinstance(value, JsonObject):
            members: list[Any] | dict[str, Any] = {str(php_array_key(k)): v for k, v in value.items()}
        else:
            members = _php_array(value)
        if isinstance(members, list):
            separator = "["
            for item in members:
                yield separator
                yield from iterencode(item)
                separator = ","
            yield "]"
            return
        separator = "{"
        for key, item in members.items():
            yield separator + encode_string(key) + ":"
            yield from iterencode(item)
            separator = ","
        yield "}"
    else:
        yield dumps(value)


def dump(value: Any, fp: BinaryWriter, *, buffer_size: int = 1 << 16) -> int:
    """Write the compact PHP JSON of ``value`` to the binary file ``fp``; return the byte count.

    Pieces from :func:`iterencode` are collected into writes of about ``buffer_size`` bytes.
    """
    total = 0
    pending: list[str] = []
    pending_len = 0
    for piece in iterencode(value):
        pending.append(piece)
        pending_len += len(piece)
        if pending_len >= buffer_size:
            total += fp.write("".join(pending).encode("ascii"))
            pending.clear()
            pending_len = 0
    if pending:
        total += fp.write("".join(pending).encode("ascii"))
    return total
