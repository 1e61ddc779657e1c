"""PHP 8's ``var_export()``, byte for byte: what Nextcloud writes into config.php, and what
Symfony's Markdown help shows for defaults (on one line)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from .arrays import array_key
from .numbers import INT64_MAX, INT64_MIN, float_literal

_MAX_DEPTH: Final = 256


class VarExportError(ValueError):
    """A value PHP's var_export cannot write as a plain literal; the message names where it is
    (``$CONFIG['a']['b']: …``)."""


def var_export(value: object, name: str = "$var") -> str:
    """``var_export($value, true)`` of a scalar or an array (a Mapping with int or str keys).

    Refused with :class:`VarExportError` (``name`` starts the path in its message): non-finite
    floats, integers outside PHP's, strings with surrogates that stand for no byte, keys that PHP
    stores alike, arrays that contain themselves or nest deeper than 256 levels, other types.
    """
    out: list[str] = []
    _export(value, 1, out, [], set(), name)
    return "".join(out)


def _where(name: str, path: list[Any]) -> str:
    return name + "".join(f"[{k!r}]" for k in path)


def _string(value: str, name: str, path: list[Any]) -> str:
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise VarExportError(f"{_where(name, path)}: the string is not valid Unicode") from None
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped.replace("\0", "' . \"\\0\" . '") + "'"


def _export(value: object, level: int, out: list[str], path: list[Any], seen: set[int], name: str) -> None:
    if value is None:
        out.append("NULL")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not INT64_MIN < value <= INT64_MAX:
            raise VarExportError(f"{_where(name, path)}: {value} is out of PHP's integer range")
        out.append(str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise VarExportError(f"{_where(name, path)}: {value!r} is not a finite number")
        out.append(float_literal(value))
    elif isinstance(value, str):
        out.append(_string(value, name, path))
    elif isinstance(value, Mapping):
        _export_array(value, level, out, path, seen, name)
    else:
        raise VarExportError(f"{_where(name, path)}: values of type {type(value).__name__} are not supported")


def _export_array(
    array: Mapping[Any, object], level: int, out: list[str], path: list[Any], seen: set[int], name: str
) -> None:
    where = _where(name, path)
    if id(array) in seen:
        raise VarExportError(f"{where}: the array contains itself")
    if len(path) >= _MAX_DEPTH:
        raise VarExportError(f"{where}: arrays are nested too deeply")
    seen.add(id(array))
    if level > 1:
        out.append("\n" + " " * (level - 1))
    out.append("array (\n")
    written: set[int | str] = set()
    for raw_key, item in array.items():
        if isinstance(raw_key, bool) or not isinstance(raw_key, int | str):
            raise VarExportError(f"{where}: key {raw_key!r} is not a string or an integer")
        key = array_key(raw_key)
        if key in written:
            raise VarExportError(f"{where}: keys {key!r} and {str(key)!r} are the same in PHP")
        written.add(key)
        out.append(" " * (level + 1))
        if isinstance(key, int):
            if not INT64_MIN < key <= INT64_MAX:
                raise VarExportError(f"{where}: key {key} is out of PHP's integer range")
            out.append(str(key))
        else:
            out.append(_string(key, name, path))
        out.append(" => ")
        path.append(key)
        _export(item, level + 2, out, path, seen, name)
        path.pop()
        out.append(",\n")
    if level > 1:
        out.append(" " * (level - 1))
    out.append(")")
    seen.discard(id(array))
