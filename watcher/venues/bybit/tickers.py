"""Bybit public tickers, the lean hot path: frames -> tick rows, with no model per tick.

One TickerBook per public connection (a category: spot, linear, inverse or option). Linear and
inverse tickers come as a snapshot, then deltas carrying only the fields that changed
(https://bybit-exchange.github.io/docs/v5/websocket/public/ticker); spot and option send
snapshots only. The book keeps each symbol's last, bid, ask, mark and index price strings and
merges every frame onto them; a frame yields a row per price source it touched: "last" (with
bid and ask) when any of the three came, "bid" and "ask" (for the symbols whose rules watch
them) when that side came, "mark", "index". Prices keep Bybit's exact strings; "" or a zero is
"no price" (an option nobody bid on); anything else must be a plain positive ASCII decimal
(watcher.sanity's rule for every venue), or the frame is malformed. A delta before any snapshot
starts from nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from watcher.errors import UnknownMessage
from watcher.events import TickRow
from watcher.sanity import MAX_TEXT, exchange_ms, quote
from watcher.venues import Parsed
from watcher.venues.bybit.replies import answer, decode, unknown
from watcher.venues.bybit.wire import market_name

SOURCES = ("last", "bid", "ask", "mark", "index")  # in FIELDS' order
DEFAULT_SOURCES = ("last", "mark", "index")  # what a book made without a plan emits
# The price fields of each category's ticker: last, bid, ask, mark, index ("": none sent).
FIELDS: dict[str, tuple[str, str, str, str, str]] = {
    "linear": ("lastPrice", "bid1Price", "ask1Price", "markPrice", "indexPrice"),
    "inverse": ("lastPrice", "bid1Price", "ask1Price", "markPrice", "indexPrice"),
    "option": ("lastPrice", "bidPrice", "askPrice", "markPrice", "indexPrice"),
    "spot": ("lastPrice", "", "", "", ""),  # usdIndexPrice is a USD index, not the pair's
}
_TOPIC = "tickers."
_ABSENT: Any = object()  # a field the push leaves out: unchanged (null is malformed)
# A symbol's state: [market, last, bid, ask, mark, index, then whether each of SOURCES is wanted].
_MARKET, _LAST, _BID, _ASK, _MARK, _INDEX = range(6)
_WANT_LAST, _WANT_BID, _WANT_ASK, _WANT_MARK, _WANT_INDEX = range(6, 11)


def price(text: str) -> str:
    """Return a price string as sent, "" for none ("" or zero); raise ValueError if not one."""
    return quote(text)  # watcher.sanity's rule, as every venue's: a plain positive ASCII decimal


class TickerBook:
    """The merged tickers of one public connection, and its frame parser (`parse`)."""

    def __init__(
        self,
        category: str,
        feed: str,
        wanted: Mapping[str, Iterable[str]] | None = None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.category = category
        self.feed = feed
        self._fields = FIELDS[category]
        self._wanted = {s: frozenset(v) for s, v in wanted.items()} if wanted is not None else None
        self._redact = redact
        self._state: dict[str, list[Any]] = {}

    def parse(self, raw: str | bytes) -> Parsed:
        """Map one public frame to tick rows; acks and pongs map to nothing."""
        msg = decode(raw, self._redact)
        topic = msg.get("topic")
        if topic is None:
            return answer(msg, raw, self.feed, self._redact)
        if type(topic) is not str:  # never repr() a decoded value: deep JSON overflows it
            raise self._unknown("topic is not a string", raw)
        if not topic.startswith(_TOPIC):
            raise self._unknown(f"unknown topic {topic!r}", raw)
        try:
            return Parsed(self.rows(msg["data"], msg["type"], msg["ts"]), [])
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise self._unknown(f"{topic}: bad ticker ({type(exc).__name__})", raw) from None

    def rows(self, data: dict[str, Any], kind: str, ts: int) -> list[TickRow]:
        """Merge one ticker push's data onto the book; return the rows of the sources it moved."""
        symbol = data["symbol"]
        if type(symbol) is not str or not symbol or len(self.category) + len(symbol) >= MAX_TEXT:
            raise ValueError("no symbol")  # the market name, category:symbol, is at most MAX_TEXT
        if type(ts) is not int:
            raise ValueError("bad ts")
        exchange_ms(ts)  # the window every venue keeps, and the workers check again
        if kind == "snapshot":
            absent = ""  # a snapshot's missing field is no price: every slot is overwritten
        elif kind == "delta":
            absent = _ABSENT  # a delta's missing field is unchanged
        else:
            raise ValueError("neither snapshot nor delta")
        last_f, bid_f, ask_f, mark_f, index_f = self._fields
        get = data.get
        last, bid, ask = get(last_f, absent), get(bid_f, absent), get(ask_f, absent)
        mark, index = get(mark_f, absent), get(index_f, absent)
        # Check every price before merging any (a bad frame changes nothing): "" is no price;
        # inline for the form Bybit sends (ASCII digits, at most one dot, not zero; sanity.price's
        # rule), price() otherwise.
        if (
            last is not _ABSENT
            and last != ""
            and not (
                last.replace(".", "", 1).isdecimal()
                and last.isascii()
                and len(last) < MAX_TEXT
                and (last[0] != "0" or last.strip("0."))
            )
        ):
            last = price(last)
        if (
            bid is not _ABSENT
            and bid != ""
            and not (
                bid.replace(".", "", 1).isdecimal()
                and bid.isascii()
                and len(bid) < MAX_TEXT
                and (bid[0] != "0" or bid.strip("0."))
            )
        ):
            bid = price(bid)
        if (
            ask is not _ABSENT
            and ask != ""
            and not (
                ask.replace(".", "", 1).isdecimal()
                and ask.isascii()
                and len(ask) < MAX_TEXT
                and (ask[0] != "0" or ask.strip("0."))
            )
        ):
            ask = price(ask)
        if (
            mark is not _ABSENT
            and mark != ""
            and not (
                mark.replace(".", "", 1).isdecimal()
                and mark.isascii()
                and len(mark) < MAX_TEXT
                and (mark[0] != "0" or mark.strip("0."))
            )
        ):
            mark = price(mark)
        if (
            index is not _ABSENT
            and index != ""
            and not (
                index.replace(".", "", 1).isdecimal()
                and index.isascii()
                and len(index) < MAX_TEXT
                and (index[0] != "0" or index.strip("0."))
            )
        ):
            index = price(index)
        state = self._state.get(symbol) or self._start(symbol)
        rows: list[TickRow] = []
        if last is not _ABSENT or bid is not _ABSENT or ask is not _ABSENT:
            if last is not _ABSENT:
                state[_LAST] = last
            if bid is not _ABSENT:
                state[_BID] = bid
            if ask is not _ABSENT:
                state[_ASK] = ask
            if state[_WANT_LAST] and state[_LAST]:
                rows.append((state[_MARKET], "last", state[_LAST], state[_BID], state[_ASK], ts))
            if state[_WANT_BID] and bid is not _ABSENT and state[_BID]:
                rows.append((state[_MARKET], "bid", state[_BID], state[_BID], state[_ASK], ts))
            if state[_WANT_ASK] and ask is not _ABSENT and state[_ASK]:
                rows.append((state[_MARKET], "ask", state[_ASK], state[_BID], state[_ASK], ts))
        if mark is not _ABSENT:
            state[_MARK] = mark
            if mark and state[_WANT_MARK]:
                rows.append((state[_MARKET], "mark", mark, "", "", ts))
        if index is not _ABSENT:
            state[_INDEX] = index
            if index and state[_WANT_INDEX]:
                rows.append((state[_MARKET], "index", index, "", "", ts))
        return rows

    def prices(self, symbol: str) -> tuple[str, str, str, str, str] | None:
        """Return a symbol's merged (last, bid, ask, mark, index) strings, None if never seen."""
        state = self._state.get(symbol)
        return None if state is None else (state[1], state[2], state[3], state[4], state[5])

    def _start(self, symbol: str) -> list[Any]:
        """Return a symbol's empty state (every price unknown), noting which sources to emit."""
        wanted = DEFAULT_SOURCES if self._wanted is None else self._wanted.get(symbol, ())
        state: list[Any] = [market_name(self.category, symbol), "", "", "", "", ""]
        state += [source in wanted for source in SOURCES]
        self._state[symbol] = state
        return state

    def _unknown(self, reason: str, raw: str | bytes) -> UnknownMessage:
        return unknown(reason, raw, self._redact)
