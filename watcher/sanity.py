"""The bounds every value leaving a venue module keeps: prices, amounts, exchange times, names.

One place for every venue: the lean ticker paths call tick() on the decoded JSON (no Decimal in
the common case), and the canonical events
(watcher.events) validate their amounts and times with amount() / positive() / instant(). A value
outside them makes the frame an UnknownMessage at the edge, so nothing absurd reaches the
publisher (orjson refuses integers past 64 bits) or a worker (datetime refuses years past 9999,
Decimal arithmetic overflows past 1e999999). Each check raises ValueError.

The time window: not before 2009-01-01 (no exchange time is older than Bitcoin; the venues' own
documented examples date from 2019 on) and not more than a day ahead of this clock (clocks
drift by seconds, not days).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MIN_MS = 1_230_768_000_000  # 2009-01-01T00:00:00Z
AHEAD_MS = 86_400_000  # how far ahead of this clock an exchange time may be
MAX_TEXT = 64  # characters of a price text or a market name
MAX_EXPONENT = 64  # an amount's magnitude lies within 1e-64 .. 1e64 (or is zero)
_MS_DIGITS = len(str(MIN_MS))  # 13: every time in the window, up to the year 2286
_NUMBER_CHARS = "0123456789.eE+-"
_MIN_AT = datetime.fromtimestamp(MIN_MS / 1000, tz=UTC)

# The latest time accepted, refreshed only when a time passes it: the common case reads no clock.
# A stale ceiling is lower than the true one, so it can refuse only after a refresh says so.
_ceiling = int(time.time() * 1000) + AHEAD_MS


class ZeroPrice(ValueError):
    """A price of zero: never a price, but an empty side of the book as a bid or an ask."""


def latest_ms() -> int:
    """Return the latest exchange time accepted now (epoch ms)."""
    global _ceiling
    _ceiling = int(time.time() * 1000) + AHEAD_MS
    return _ceiling


def exchange_ms(value: object) -> int:
    """Return an exchange time (an int, or a string of ASCII digits) in ms, if within the window."""
    if type(value) is str:
        # 13 characters that int() reads: a sign, a space or an underscore leaves at most 12
        # digits, a time before 2009, so the window refuses them without a check of its own.
        if len(value) != _MS_DIGITS or not value.isascii():
            raise ValueError("time is not epoch milliseconds")
        try:
            ms = int(value)
        except ValueError:
            raise ValueError("time is not epoch milliseconds") from None
    elif type(value) is int:  # never a bool: type() is exact
        ms = value
    else:
        raise ValueError("time is not epoch milliseconds")
    if ms < MIN_MS or (ms > _ceiling and ms > latest_ms()):
        raise ValueError("time out of range")
    return ms


def tick(
    market: Any, source: str, last: Any, bid: Any, ask: Any, ts: Any
) -> tuple[str, str, str, str, str, int]:
    """Return a tick row of the exchange's own texts, if every part is sane (or ValueError).

    market: a short non-empty string; last: a price(); bid, ask: a quote() ("" when absent); ts:
    an exchange_ms(). Values come straight from the decoded JSON, of any type.
    """
    if type(market) is not str or not 0 < len(market) <= MAX_TEXT:
        raise ValueError("no market")
    # price()'s common case is repeated inline for the three prices: this runs per tick, and
    # the calls cost a third of it. Any other form (or type: only a string has replace()) is
    # left to price() and quote().
    try:
        d = last.replace(".", "", 1)
        if not (d.isdecimal() and d.isascii() and len(d) < MAX_TEXT and d.lstrip("0")):
            price(last)
        if bid != "":
            d = bid.replace(".", "", 1)
            if not (d.isdecimal() and d.isascii() and len(d) < MAX_TEXT and d.lstrip("0")):
                bid = quote(bid)
        if ask != "":
            d = ask.replace(".", "", 1)
            if not (d.isdecimal() and d.isascii() and len(d) < MAX_TEXT and d.lstrip("0")):
                ask = quote(ask)
    except AttributeError:
        raise ValueError("price is not a string") from None
    return (market, source, last, bid, ask, exchange_ms(ts))


def price(text: Any) -> str:
    """Return a price text as sent, if it reads as a finite positive number in ASCII."""
    # The common case, digits with at most one dot, is checked without a Decimal: isascii() is
    # O(1) in CPython and refuses Arabic-Indic digits. Only a JSON string has replace(): a
    # number, a boolean, null or a list is not a price.
    try:
        digits = text.replace(".", "", 1)
    except AttributeError:
        raise ValueError("price is not a string") from None
    if digits.isdecimal() and digits.isascii() and len(digits) < MAX_TEXT:
        if digits.lstrip("0"):  # the string itself, unless it starts with a zero
            return text  # type: ignore[no-any-return]
        raise ZeroPrice("price is zero")
    value = _decimal(text)
    if not value and not value.is_signed():
        raise ZeroPrice("price is zero")
    positive(value)
    return text  # type: ignore[no-any-return]


def quote(text: Any) -> str:
    """Return a bid or ask text as sent, or "" when absent: empty, or zero (an empty book side)."""
    if text == "":
        return ""
    try:
        return price(text)
    except ZeroPrice:
        return ""


def amount(value: Decimal) -> Decimal:
    """Return an amount (price, size, fee, balance, ratio), if finite and of sane magnitude."""
    if not value.is_finite() or (value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT):
        raise ValueError("amount out of range")
    return value


def positive(value: Decimal) -> Decimal:
    """Return an amount() that is above zero (a price)."""
    if not amount(value) > 0:
        raise ValueError("amount is not positive")
    return value


def instant(at: datetime) -> datetime:
    """Return an aware time, if within the exchange time window."""
    if at < _MIN_AT or at.timestamp() * 1000 > latest_ms():
        raise ValueError("time out of range")
    return at


def _decimal(text: str) -> Decimal:
    # Decimal() also reads surrounding spaces, "1_000", non-ASCII digits, NaN and Infinity: none
    # is a price an exchange sends, so only the characters of a plain or exponent form may pass.
    if len(text) > MAX_TEXT or not text.isascii() or text.strip(_NUMBER_CHARS):
        raise ValueError("price has other characters than a number's")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("price is not a number") from None
