"""Exact decimal parsing and exchange-style number formatting (no floats, no exponents)."""

from __future__ import annotations

import re
from decimal import Decimal

_PLAIN = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


def parse_decimal(value: object) -> Decimal | None:
    """Returns the Decimal of a plain decimal string (or int), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if not isinstance(value, str) or not _PLAIN.fullmatch(value):
        return None
    return Decimal(value)


def parse_positive(value: object) -> Decimal | None:
    """Returns the Decimal of a plain decimal > 0, or None."""
    number = parse_decimal(value)
    return number if number is not None and number > 0 else None


def fmt(value: Decimal) -> str:
    """Formats a price as given: its own scale, never an exponent."""
    return format(value, "f")


def fmt_amount(value: Decimal) -> str:
    """Formats a computed amount: trailing zeros trimmed, never an exponent, no negative zero."""
    return "0" if value == 0 else format(value.normalize(), "f")
