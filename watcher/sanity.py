"""The bounds every value leaving a venue module keeps: prices, amounts, exchange times, names.

One place for every venue: the lean ticker paths call tick() (or price(), quote() and
exchange_ms()) on the decoded JSON, without a Decimal, and the canonical events
(watcher.events) validate their amounts and times with amount(), positive() and instant(). A
value outside them makes the frame an UnknownMessage at the edge, so nothing absurd reaches the
publisher (orjson refuses integers past 64 bits) or a worker (datetime refuses years past 9999,
Decimal arithmetic overflows past 1e999999). Each check raises ValueError.

The time window: after the epoch (positive ms: the venues' documented examples go back that
far, Binance's "E": 123456789 among them) and not more than a day ahead of this clock (clocks
drift by seconds, not days). The ceiling is what protects: a datetime holds no year past 9999,
orjson no integer past 64 bits. Watcher and workers check the same window, so a worker never
refuses what a venue module let through.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

MIN_MS = 1  # the first ms after the epoch
AHEAD_MS = 86_400_000  # how far ahead of this clock an exchange time may be
MAX_TEXT = 64  # characters of a price text or a market name
MAX_EXPONENT = 64  # an amount's magnitude lies within 1e-64 .. 1e64 (or is zero)
_MS_DIGITS = 13  # every time in the window has at most 13 digits, up to the year 2286
_SCALARS = (str, int, float, bool)
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
        # isascii() first: isdigit() alone passes Arabic-Indic digits, which int() reads.
        if not (len(value) <= _MS_DIGITS and value.isascii() and value.isdigit()):
            raise ValueError("time is not epoch milliseconds")
        ms = int(value)
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
    # price()'s check is repeated inline for the three prices: this runs per tick, and the calls
    # cost a third of it. What fails it (or is not a string) goes to price() and quote(), which
    # say why, or find a zero bid or ask (an empty side of the book).
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
    """Return a price text as sent, if it is a plain positive decimal in ASCII digits."""
    # Venues send digits with at most one dot: a sign, an exponent ("1e999999999"), NaN, "1_000"
    # or spaces (all of which Decimal() reads) are not a price. isascii() is O(1) in CPython and
    # refuses Arabic-Indic digits. Only a JSON string has replace(): a number, a boolean, null
    # or a list is not a price.
    try:
        digits = text.replace(".", "", 1)
    except AttributeError:
        raise ValueError("price is not a string") from None
    if not (digits.isdecimal() and digits.isascii() and len(digits) < MAX_TEXT):
        raise ValueError("price is not a plain decimal number")
    if not digits.lstrip("0"):
        raise ZeroPrice("price is zero")
    return text  # type: ignore[no-any-return]


def quote(text: Any) -> str:
    """Return a bid or ask text as sent, or "" when absent: empty, or zero (an empty book side)."""
    if text == "":
        return ""
    try:
        return price(text)
    except ZeroPrice:
        return ""


def tick_value(price: str, ms: object) -> Decimal:
    """Return a stored tick row's price as a Decimal, if it and the row's time are in bounds.

    The workers' check of what any writer put in a ticks stream: positive() and exchange_ms()
    for an int, in one call (this runs per tick).
    """
    value = Decimal(price)
    if not (value.is_finite() and value > 0 and -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT):
        raise ValueError("tick price out of range")
    if type(ms) is not int or ms < MIN_MS or (ms > _ceiling and ms > latest_ms()):
        raise ValueError("tick time out of range")
    return value


def scalar(value: object) -> str:
    """Return a decoded JSON scalar as text, "" for null, a list or an object.

    For codes and messages a venue echoes: str() of a decoded container recurses once per level
    of nesting, and JSON nested a thousand deep (orjson reads 1,024) overflows it.
    """
    return str(value) if type(value) in _SCALARS else ""


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
