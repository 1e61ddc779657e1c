"""PHP's conversions between scalars: ``intval``, ``floatval``, ``boolval``, string conversion, and
``settype`` as the app's entity setters apply it."""

from __future__ import annotations

import math
from typing import Any, Literal

from .numbers import INT64_MAX, INT64_MIN, float_string, php_numeric

SetType = Literal["str", "int", "bool"]


def php_intval(value: object) -> int:
    """PHP ``intval()`` of a raw config value (str/int/float/bool/None)."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value) or not -(2.0**63) <= value < 2.0**63:
            return 0
        return int(value)
    if isinstance(value, str):
        number = php_numeric(value, prefix=True)
        if number is None:
            return 0
        if isinstance(number, int):
            return number
        if not math.isfinite(number):  # an overflowing "1e400": PHP's capped cast gives 0
            return 0
        if number >= 2.0**63:
            return INT64_MAX
        if number < -(2.0**63):
            return INT64_MIN
        return int(number)
    raise TypeError(f"intval() of {type(value).__name__}")


def php_floatval(text: str) -> float:
    """PHP ``(float)`` of a string: its leading numeric part, 0.0 when there is none."""
    number = php_numeric(text, prefix=True)
    return 0.0 if number is None else float(number)


def php_boolval(value: object) -> bool:
    """PHP boolval: "" and "0" are false, every other string true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)


def php_string(value: Any) -> str:
    """PHP's string conversion of a decoded JSON value: ``null``/``false`` are ``""``, ``true``
    ``"1"``, floats as :func:`~.numbers.float_string`, arrays ``"Array"``."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_string(value)
    if isinstance(value, str):
        return value
    return "Array"


def settype(kind: SetType, value: Any) -> Any:
    """PHP's ``settype()`` as an entity setter applies it to a property of type ``kind``.

    ``None`` stays ``None`` (the caller decides whether the property takes it); a list or object
    raises ValueError. A float beyond 64 bits becomes the whole number it holds (PHP would wrap it
    around), so that a caller checking its column's range refuses it.
    """
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError("is not a scalar")
    if kind == "bool":
        return php_boolval(value)
    if kind == "int":
        if isinstance(value, bool | int):
            return int(value)
        if isinstance(value, float):
            return int(value) if math.isfinite(value) else 0
        return php_intval(str(value))
    return php_string(value)
