"""PHP arrays: the keys PHP stores, and PHP's ``array_merge``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, overload

from .numbers import INT64_MAX, INT64_MIN

# A key string that PHP stores as an integer ("0", "12", "-3"; not "01", "-0", "+1"); longer digit
# runs are beyond 64 bits anyway.
_INT_KEY_RE: Final = re.compile(r"(?:0|-?[1-9][0-9]{0,18})\Z")


@overload
def array_key(key: int | str) -> int | str: ...
@overload
def array_key(key: object) -> object: ...
def array_key(key: object) -> object:
    """The key PHP stores for ``$array[key]``: a string holding a canonical decimal integer within
    64 bits becomes that integer, a boolean 0 or 1; other keys are returned as they are."""
    if isinstance(key, str):
        if _INT_KEY_RE.match(key):
            value = int(key)
            if INT64_MIN <= value <= INT64_MAX:
                return value
        return str(key)
    if isinstance(key, bool):
        return int(key)
    return key


def array_merge(first: Mapping[Any, Any], second: Mapping[Any, Any]) -> dict[Any, Any]:
    """PHP's array_merge: string keys of `second` replace those of `first` in place, integer keys
    of both are numbered anew from 0."""
    merged: dict[Any, Any] = {}
    index = 0
    for array in (first, second):
        for key, value in array.items():
            if isinstance(key, int):
                merged[index] = value
                index += 1
            else:
                merged[key] = value
    return merged
