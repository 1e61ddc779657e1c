"""PHP 8's comparisons: ``<=>`` of scalars, the order of ``ksort`` and ``strnatcmp`` (the
comparison of ``natsort``)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from .arrays import array_key
from .numbers import float_string, php_numeric


def _three_way(left: Any, right: Any) -> int:
    return int(left > right) - int(left < right)


def _number_or_text(value: Any) -> int | float | str:
    """An int or float as it is; a string as its number when it is numeric, else the string."""
    if isinstance(value, str):
        number = php_numeric(value)
        return value if number is None else number
    return value  # type: ignore[no-any-return]


def _text(value: int | float | str) -> str:
    if isinstance(value, float):
        return float_string(value)
    return str(value)


def compare(left: Any, right: Any) -> int:
    """PHP 8's ``left <=> right`` for decoded JSON values (-1, 0 or 1).

    ``null`` against a string is ``""``; otherwise ``null`` or a boolean on either side compares
    both sides as booleans; an array is greater than any other value; numbers and numeric strings
    compare as numbers, anything else as strings (byte by byte, a number written as PHP writes it).
    """
    if left is None and isinstance(right, str):
        left = ""
    elif right is None and isinstance(left, str):
        right = ""
    if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
        return _three_way(bool(left), bool(right))
    left_array, right_array = isinstance(left, (list, dict)), isinstance(right, (list, dict))
    if left_array or right_array:
        if left_array and right_array:
            raise TypeError("comparing two arrays is not supported")
        return 1 if left_array else -1
    left_value, right_value = _number_or_text(left), _number_or_text(right)
    if isinstance(left_value, str) or isinstance(right_value, str):  # a string that is not numeric
        left_bytes = (left if isinstance(left, str) else _text(left)).encode("utf-8", "surrogateescape")
        right_bytes = (right if isinstance(right, str) else _text(right)).encode("utf-8", "surrogateescape")
        return _three_way(left_bytes, right_bytes)
    if isinstance(left_value, int) and isinstance(right_value, int):
        return _three_way(left_value, right_value)
    return _three_way(float(left_value), float(right_value))


def compare_keys(left: str, right: str) -> int:
    """Compare two strings as PHP 8's ``ksort()`` (SORT_REGULAR) compares them as array keys."""
    return compare(array_key(left), array_key(right))


def ksorted(keys: Iterable[str]) -> list[str]:
    """``keys`` in PHP ``ksort`` order (stable for equal keys)."""
    return sorted(keys, key=functools.cmp_to_key(compare_keys))


def strnatcmp(a: bytes, b: bytes) -> int:
    """PHP 8's `strnatcmp` (the comparison of `natsort`): runs of digits compare as numbers, a run
    starting with 0 as a fraction; whitespace is skipped; case matters."""
    if not a or not b:
        return (len(a) > len(b)) - (len(a) < len(b))
    ai = bi = 0
    leading = True
    while True:
        ca, cb = _at(a, ai), _at(b, bi)
        while leading and ca == 0x30 and ai + 1 < len(a) and _isdigit(a[ai + 1]):  # leading zeros
            ai += 1
            ca = a[ai]
        while leading and cb == 0x30 and bi + 1 < len(b) and _isdigit(b[bi + 1]):
            bi += 1
            cb = b[bi]
        leading = False
        while _isspace(ca):
            ai += 1
            ca = _at(a, ai)
        while _isspace(cb):
            bi += 1
            cb = _at(b, bi)
        if _isdigit(ca) and _isdigit(cb):
            run = _compare_left if ca == 0x30 or cb == 0x30 else _compare_right
            result, ai, bi = run(a, ai, b, bi)
            if result:
                return result
            ended = _ended(a, ai, b, bi)
            if ended is not None:
                return ended
            ca, cb = a[ai], b[bi]
        if ca != cb:
            return -1 if ca < cb else 1
        ai += 1
        bi += 1
        ended = _ended(a, ai, b, bi)
        if ended is not None:
            return ended


def _ended(a: bytes, ai: int, b: bytes, bi: int) -> int | None:
    """The result once either text is used up (the shorter is less), else None."""
    a_done, b_done = ai >= len(a), bi >= len(b)
    if a_done or b_done:
        return int(b_done) - int(a_done)
    return None


def _at(data: bytes, i: int) -> int:
    return data[i] if i < len(data) else 0


def _isdigit(c: int) -> bool:
    return 0x30 <= c <= 0x39


def _isspace(c: int) -> bool:
    return c in b" \t\n\v\f\r"


def _compare_right(a: bytes, ai: int, b: bytes, bi: int) -> tuple[int, int, int]:
    """Integers: the longer run wins, else the first difference."""
    bias = 0
    while True:
        da, db = ai < len(a) and _isdigit(a[ai]), bi < len(b) and _isdigit(b[bi])
        if not da and not db:
            return bias, ai, bi
        if not da:
            return -1, ai, bi
        if not db:
            return 1, ai, bi
        if a[ai] != b[bi] and not bias:
            bias = -1 if a[ai] < b[bi] else 1
        ai += 1
        bi += 1


def _compare_left(a: bytes, ai: int, b: bytes, bi: int) -> tuple[int, int, int]:
    """Fractions: the first difference wins."""
    while True:
        da, db = ai < len(a) and _isdigit(a[ai]), bi < len(b) and _isdigit(b[bi])
        if not da and not db:
            return 0, ai, bi
        if not da:
            return -1, ai, bi
        if not db:
            return 1, ai, bi
        if a[ai] != b[bi]:
            return (-1 if a[ai] < b[bi] else 1), ai, bi
        ai += 1
        bi += 1
