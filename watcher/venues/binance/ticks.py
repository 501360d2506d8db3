"""Binance market-data pushes -> tick rows, straight from the decoded JSON (the hot path).

No model is built per tick: each function reads the keys it needs from the push's `data`
object, checks them, and returns rows that keep Binance's exact price strings.
- `<symbol>@ticker` (24hrTicker): source "last" from `c`; spot also sends the best bid `b`
  and ask `a`, carried in the row ("" when absent, or "0": an empty side of the book).
- `<symbol>@bookTicker`: sources "bid" (`b`) and "ask" (`a`), a row each; spot's carries no
  time at all, so the time of receipt stands in for it.
- `<symbol>@markPrice` (markPriceUpdate, USD-M): source "mark" from `p`, and "index" from `i`
  (the one stream carries both; a few rows a second per market, so both are always made).
Prices and times are checked by watcher.sanity, as every venue's are: a price is a finite
positive ASCII number (price(); a best bid or ask of zero is an empty side, quote()), a time an
int of epoch ms within the window (exchange_ms()); a symbol is ASCII letters and digits. Anything
else raises ValueError, AttributeError or KeyError, which the venue reports as UnknownMessage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from watcher.events import TickRow
from watcher.sanity import MAX_TEXT, exchange_ms, price, quote


def _check(market: object, ms: object) -> None:
    if type(market) is not str or not (market.isascii() and market.isalnum()):
        raise ValueError("not a symbol")
    if len(market) > MAX_TEXT:  # the canonical events' bound on a market name
        raise ValueError("not a symbol")
    if type(ms) is not int:
        raise ValueError("not a time")
    exchange_ms(ms)  # the window every venue keeps, and the workers check again


def ticker_rows(data: dict[str, Any]) -> list[TickRow]:
    """Return the "last" row of a 24hrTicker push (with spot's bid and ask)."""
    market, last, ms = data["s"], data["c"], data["E"]
    _check(market, ms)
    bid, ask = data.get("b"), data.get("a")
    return [
        (
            market,
            "last",
            price(last),
            "" if bid is None else quote(bid),
            "" if ask is None else quote(ask),
            ms,
        )
    ]


def book_rows(data: dict[str, Any]) -> list[TickRow]:
    """Return the "bid" and "ask" rows of a bookTicker push (none for an empty side)."""
    market, bid, ask = data["s"], quote(data["b"]), quote(data["a"])
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
    """Return the "mark" and "index" rows of a markPriceUpdate push (no index row when `i`
    is absent or "0")."""
    market, mark, ms = data["s"], data["p"], data["E"]
    _check(market, ms)
    rows: list[TickRow] = [(market, "mark", price(mark), "", "", ms)]
    index = quote(data.get("i", ""))  # absent, or "0": no index row
    if index:
        rows.append((market, "index", index, "", "", ms))
    return rows


# The data object's event type -> its rows; spot's bookTicker is the one push without "e".
LEAN: dict[str | None, Callable[[dict[str, Any]], list[TickRow]]] = {
    "24hrTicker": ticker_rows,
    "bookTicker": book_rows,
    None: book_rows,
    "markPriceUpdate": mark_price_rows,
}
