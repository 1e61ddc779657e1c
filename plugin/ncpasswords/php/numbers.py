"""PHP's numbers: 64-bit integers, numeric strings (`is_numeric`) and floats written as PHP writes
them (string conversion, `json_encode`, `var_export`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Final

INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1

#: The white space PHP allows around a numeric string.
WHITESPACE: Final = " \t\n\r\v\f"
_NUMBER: Final = r"([+-]?(?:[0-9]+(\.[0-9]*)?|(\.[0-9]+))([eE][+-]?[0-9]+)?)"
_NUMERIC_RE: Final = re.compile(rf"[{WHITESPACE}]*{_NUMBER}[{WHITESPACE}]*\Z")
_LEADING_NUMERIC_RE: Final = re.compile(rf"[{WHITESPACE}]*{_NUMBER}")


def php_numeric(text: str, *, prefix: bool = False) -> int | float | None:
    """PHP's is_numeric_string(): the value as int or float, None when not numeric.

    With ``prefix`` a leading numeric part is enough (as in ``intval("12abc")``).
    """
    match = _LEADING_NUMERIC_RE.match(text) if prefix else _NUMERIC_RE.match(text)
    if match is None:
        return None
    number = match.group(1)
    if match.group(2) is None and match.group(3) is None and match.group(4) is None:
        value = int(number)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    return float(number)


def is_numeric(text: str) -> bool:
    """PHP 8's ``is_numeric()`` of a string (white space around the number allowed)."""
    return _NUMERIC_RE.match(text) is not None


def _gcvt(value: float, precision: int | None, exponent: str) -> str:
    """PHP's ``php_gcvt``: ``precision`` significant digits (None: the shortest that round-trip,
    as with ``serialize_precision = -1``, whose switch to exponent form is at 17 places); exponent
    form ``d.dddE+X`` when the decimal point is more than that many places right or more than
    four places left of the first digit."""
    if value == 0.0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign = "-" if value < 0 else ""
    if precision is None:
        text, places = repr(abs(value)), 17
    else:
        text, places = f"{abs(value):.{precision - 1}e}", precision
    _, digit_tuple, power = Decimal(text).as_tuple()
    assert isinstance(power, int)
    decpt = len(digit_tuple) + power  # value == 0.DIGITS * 10**decpt
    digits = "".join(map(str, digit_tuple)).rstrip("0")
    if decpt > places or decpt < -3:
        power = decpt - 1
        mantissa = digits[0] + "." + (digits[1:] or "0")
        return f"{sign}{mantissa}{exponent}{'-' if power < 0 else '+'}{abs(power)}"
    if decpt <= 0:
        return f"{sign}0.{'0' * -decpt}{digits}"
    if len(digits) <= decpt:
        return sign + digits + "0" * (decpt - len(digits))
    return f"{sign}{digits[:decpt]}.{digits[decpt:]}"


def float_string(value: float) -> str:
    """PHP 8 ``(string)$float`` (``precision`` 14): ``1.5``, ``1000``, ``1.0E+25``, ``INF``."""
    if not math.isfinite(value):
        return "NAN" if math.isnan(value) else "INF" if value > 0 else "-INF"
    return _gcvt(value, 14, "E")


def float_json(value: float) -> str:
    """A finite float as ``json_encode`` writes it (``serialize_precision = -1``): ``10``, ``0.1``,
    ``1.0e+25``."""
    return _gcvt(value, None, "e")


def float_literal(value: float) -> str:
    """A finite float as ``var_export`` writes it: ``10.0``, ``0.1``, ``1.0E+25``."""
    text = _gcvt(value, None, "E")
    return text if "." in text or "E" in text else text + ".0"
