"""PHP's value conversions where the reference's behaviour depends on them (intval, boolval,
numeric strings)."""

from __future__ import annotations

import math
import re
from typing import Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

_NUMERIC_RE: Final = re.compile(
    r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)[ \t\n\r\v\f]*\Z"
)
_LEADING_NUMERIC_RE: Final = re.compile(r"[ \t\n\r\v\f]*([+-]?(?:[0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)")


def php_numeric(text: str, *, prefix: bool = False) -> int | float | None:
    """PHP's is_numeric_string(): the value as int or float, None when not numeric.

    With ``prefix`` a leading numeric part is enough (as in ``intval("12abc")``).
    """
    match = _LEADING_NUMERIC_RE.match(text) if prefix else _NUMERIC_RE.match(text)
    if match is None:
        return None
    number = match.group(1)
    if match.group(2) is None and match.group(3) is None:
        value = int(number)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return float(number)


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


def php_float_string(value: float) -> str:
    """PHP 8 ``(string)$float`` (``precision`` 14): ``1.5``, ``1000``, ``1.0E+25``, ``INF``."""
    text = f"{value:.14G}"
    if "E" in text:
        mantissa, exponent = text.split("E")
        if "." not in mantissa:
            mantissa += ".0"
        text = f"{mantissa}E{exponent[0]}{int(exponent[1:])}"
    return text


def php_boolval(value: object) -> bool:
    """PHP boolval: "" and "0" are false, every other string true."""
    if isinstance(value, str):
        return value not in ("", "0")
    return bool(value)
