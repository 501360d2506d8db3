"""OKX market-data pushes -> tick rows, straight from the decoded JSON (the hot path).

Every price source is a series of its own, in rows of its own (market, source, price, bid, ask,
ms); OKX sends them on three channels:
- `tickers`: "last" (its row carries the book's best bid and ask), and "bid" and "ask" rows,
  made only for the markets whose rules watch those sources (a TickPlan says which);
- `mark-price`: "mark";
- `index-tickers`: "index", subscribed by index (BTC-USDT, the `uly` of BTC-USDT-SWAP and
  of BTC-USDT-250328): a row for each market whose rules watch that index.
https://www.okx.com/docs-v5/en/#public-data-websocket-index-tickers-channel
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from watcher.errors import ConfigError
from watcher.events import TickRow
from watcher.sanity import tick

Lean = Callable[[list[Any]], list[TickRow]]
# The channel carrying each price source, and the instId it is subscribed with.
CHANNEL_OF_SOURCE = {
    "last": "tickers",
    "bid": "tickers",
    "ask": "tickers",
    "mark": "mark-price",
    "index": "index-tickers",
}
SOURCES = tuple(CHANNEL_OF_SOURCE)


def index_of(market: str) -> str:
    """Return the index a market is priced against: its first two parts (BTC-USDT-SWAP ->
    BTC-USDT), OKX's `uly`."""
    return "-".join(market.split("-")[:2])


# The lean path keeps the exchange's exact price strings, checked by watcher.sanity.tick without
# a Decimal in the common case: a finite positive price, epoch ms within the window, a short
# market name. Anything else raises ValueError (KeyError for a missing field, TypeError or
# AttributeError for an item that is not an object) and the frame is malformed.


def ticker_rows(data: list[Any]) -> list[TickRow]:
    """Return the "last" rows of a `tickers` push's data, straight from the decoded JSON."""
    rows: list[TickRow] = []
    for item in data:
        rows.append(
            tick(item["instId"], "last", item["last"], item.get("bidPx", ""),
                 item.get("askPx", ""), item["ts"])
        )  # fmt: skip
    return rows


def mark_price_rows(data: list[Any]) -> list[TickRow]:
    """Return the tick rows of a `mark-price` push's data, straight from the decoded JSON."""
    rows: list[TickRow] = []
    for item in data:
        rows.append(tick(item["instId"], "mark", item["markPx"], "", "", item["ts"]))
    return rows


def index_rows(data: list[Any]) -> list[TickRow]:
    """Return the "index" rows of an `index-tickers` push, named by the index itself."""
    rows: list[TickRow] = []
    for item in data:
        rows.append(tick(item["instId"], "index", item["idxPx"], "", "", item["ts"]))
    return rows


LEAN: Mapping[str, Lean] = {
    "tickers": ticker_rows,
    "mark-price": mark_price_rows,
    "index-tickers": index_rows,
}


class TickPlan:
    """Which sources each market's rules watch: the subscribe args, and the parsers that make
    exactly those rows (the plain ones above when every market watches the default)."""

    def __init__(self, series: Iterable[tuple[str, str]]) -> None:
        self.series = sorted(set(series))
        self._sources: dict[str, set[str]] = {}
        self._indexed: dict[str, list[str]] = {}  # index -> the markets watching it
        for market, source in self.series:
            if source not in CHANNEL_OF_SOURCE:
                known = ", ".join(SOURCES)
                raise ConfigError(f"okx: unknown price source {source!r} for {market} ({known})")
            self._sources.setdefault(market, set()).add(source)
            if source == "index":
                self._indexed.setdefault(index_of(market), []).append(market)

    def args(self) -> list[dict[str, str]]:
        """Return the subscribe args: one per (channel, instId), in a stable order."""
        args: dict[tuple[str, str], None] = {}
        for market, source in self.series:
            channel = CHANNEL_OF_SOURCE[source]
            inst_id = index_of(market) if source == "index" else market
            args[(channel, inst_id)] = None
        return [{"channel": channel, "instId": inst_id} for channel, inst_id in args]

    def lean(self) -> dict[str, Lean]:
        """Return the parser of each market-data channel for this plan."""
        lean = dict(LEAN)
        book = {
            market: (
                "last" in sources,
                "bid" in sources,
                "ask" in sources,
            )
            for market, sources in self._sources.items()
            if sources & {"bid", "ask"}
        }
        if book:
            lean["tickers"] = _book_rows(book)
        if any(index != markets[0] or len(markets) > 1 for index, markets in self._indexed.items()):
            lean["index-tickers"] = _indexed_rows(self._indexed)
        return lean


def _book_rows(book: Mapping[str, tuple[bool, bool, bool]]) -> Lean:
    """Return a `tickers` parser that also makes the "bid" and "ask" rows `book` asks for."""

    def rows(data: list[Any]) -> list[TickRow]:
        out: list[TickRow] = []
        for row in ticker_rows(data):
            wants = book.get(row[0])
            if wants is None:
                out.append(row)
                continue
            market, _, _, bid, ask, ms = row
            if wants[0]:
                out.append(row)
            if wants[1] and bid:
                out.append((market, "bid", bid, bid, ask, ms))
            if wants[2] and ask:
                out.append((market, "ask", ask, bid, ask, ms))
        return out

    return rows


def _indexed_rows(indexed: Mapping[str, list[str]]) -> Lean:
    """Return an `index-tickers` parser that names each row by the markets watching it."""

    def rows(data: list[Any]) -> list[TickRow]:
        out: list[TickRow] = []
        for index, source, price, bid, ask, ms in index_rows(data):
            for market in indexed.get(index, (index,)):
                out.append((market, source, price, bid, ask, ms))
        return out

    return rows
