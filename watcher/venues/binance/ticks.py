"""Binance market-data pushes -> tick rows, straight from the decoded JSON (the hot path).

No model is built per tick: each function reads the keys it needs from the push's `data`
object, checks them, and returns rows that keep Binance's exact price strings.
- `<symbol>@ticker` (24hrTicker): source "last" from `c`; spot also sends the best bid `b`
  and ask `a`, carried in the row ("" when absent, or "0": an empty side of the book).
- `<symbol>@bookTicker`: sources "bid" (`b`) and "ask" (`a`), a row each; spot's carries no
  time at all, so the time of receipt stands in for it.
- `<symbol>@markPrice` (markPriceUpdate, USD-M): source "mark" from `p`.
A price must be a plain positive ASCII decimal (no sign, exponent, NaN or other digits), a time
an int of epoch ms a datetime holds, a symbol ASCII letters and digits; anything else raises
ValueError, AttributeError or KeyError, which the venue reports as an UnknownMessage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from watcher.events import TickRow
from watcher.venues.binance.wire import MAX_MS


def _is_price(text: str) -> bool:
    """Whether `text` is a positive plain decimal: ASCII digits, at most one dot, not all 0."""
    return text.isascii() and text.replace(".", "", 1).isdigit() and text.strip("0.") != ""


def _book_side(text: str) -> str:
    """Return a best bid or ask as sent, or "" for an empty side ("0"); junk raises."""
    if _is_price(text):
        return text
    if text.isascii() and text.replace(".", "", 1).isdigit():
        return ""  # zero: nobody bids (or asks)
    raise ValueError("not a price")


def _check(market: object, ms: object) -> None:
    if type(market) is not str or not (market.isascii() and market.isalnum()):
        raise ValueError("not a symbol")
    if type(ms) is not int or not 0 < ms <= MAX_MS:
        raise ValueError("not a time")


def ticker_rows(data: dict[str, Any]) -> list[TickRow]:
    """Return the "last" row of a 24hrTicker push (with spot's bid and ask)."""
    market, last, ms = data["s"], data["c"], data["E"]
    _check(market, ms)
    if not _is_price(last):
        raise ValueError("not a price")
    bid, ask = data.get("b"), data.get("a")
    return [
        (
            market,
            "last",
            last,
            "" if bid is None else _book_side(bid),
            "" if ask is None else _book_side(ask),
            ms,
        )
    ]


def book_rows(data: dict[str, Any]) -> list[TickRow]:
    """Return the "bid" and "ask" rows of a bookTicker push (none for an empty side)."""
    market, bid, ask = data["s"], _book_side(data["b"]), _book_side(data["a"])
    ms = data.get("T")
    if ms is None:  # spot's bookTicker has no time
        ms = int(time.time() * 1000)
    _check(market, ms)
    rows: list[TickRow] = []
    if bid:
        rows.append((market, "bid", bid, bid, ask, ms))
    if ask:
        rows.append((market, "ask", ask, bid, ask, ms))
    return rows


def mark_price_rows(data: dict[str, Any]) -> list[TickRow]:
    """Return the "mark" row of a markPriceUpdate push."""
    market, mark, ms = data["s"], data["p"], data["E"]
    _check(market, ms)
    if not _is_price(mark):
        raise ValueError("not a price")
    return [(market, "mark", mark, "", "", ms)]


# The data object's event type -> its rows; spot's bookTicker is the one push without "e".
LEAN: dict[str | None, Callable[[dict[str, Any]], list[TickRow]]] = {
    "24hrTicker": ticker_rows,
    "bookTicker": book_rows,
    None: book_rows,
    "markPriceUpdate": mark_price_rows,
}
