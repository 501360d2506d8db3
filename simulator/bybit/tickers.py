"""Bybit's `tickers.{symbol}` pushes, field for field as the documented samples in
tests/data/bybit/ show them (https://bybit-exchange.github.io/docs/v5/websocket/public/ticker).

Linear tickers open with a snapshot, then send deltas carrying only the fields that changed since
what that connection was last sent; spot sends a snapshot every time. The simulator's mark and
index prices are its last price.
"""

from __future__ import annotations

import itertools
import weakref
from decimal import Decimal
from typing import Any

from simulator.bybit.names import split
from simulator.connection import Client
from simulator.market import Ticker
from simulator.money import fmt, fmt_amount

Frame = dict[str, Any]
FUNDING_MS = 8 * 3_600_000  # Bybit's default funding interval: 8 h
_LINEAR_PCNT, _SPOT_PCNT = Decimal("0.000001"), Decimal("0.0001")  # as the samples show them


def _change(t: Ticker, step: Decimal) -> str:
    return fmt_amount(((t.last - t.open24h) / t.open24h).quantize(step)) if t.open24h else "0"


def spot_item(t: Ticker) -> Frame:
    """Builds a spot ticker's data (no bid or ask: Bybit's spot ticker has none)."""
    _, symbol = split(t.market)
    return {
        "symbol": symbol,
        "lastPrice": fmt(t.last),
        "highPrice24h": fmt(t.high24h),
        "lowPrice24h": fmt(t.low24h),
        "prevPrice24h": fmt(t.open24h),
        "volume24h": fmt_amount(t.vol24h),
        "turnover24h": fmt_amount(t.vol_quote24h),
        "price24hPcnt": _change(t, _SPOT_PCNT),
        "usdIndexPrice": fmt(t.last),
    }


def linear_item(t: Ticker, direction: str) -> Frame:
    """Builds a linear perpetual's ticker data (a full snapshot's)."""
    _, symbol = split(t.market)
    return {
        "symbol": symbol,
        "tickDirection": direction,
        "price24hPcnt": _change(t, _LINEAR_PCNT),
        "lastPrice": fmt(t.last),
        "prevPrice24h": fmt(t.open24h),
        "highPrice24h": fmt(t.high24h),
        "lowPrice24h": fmt(t.low24h),
        "prevPrice1h": fmt(t.open24h),
        "markPrice": fmt(t.last),
        "indexPrice": fmt(t.last),
        "openInterest": "0",
        "openInterestValue": "0",
        "turnover24h": fmt_amount(t.vol_quote24h),
        "volume24h": fmt_amount(t.vol24h),
        "fundingIntervalHour": "8",
        "fundingCap": "0.005",
        "nextFundingTime": str((t.ts // FUNDING_MS + 1) * FUNDING_MS),
        "fundingRate": "0.0001",
        "bid1Price": fmt(t.bid),
        "bid1Size": "1",
        "ask1Price": fmt(t.ask),
        "ask1Size": "1",
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


class TickerPushes:
    """The ticker pushes of one venue: the cross sequence, each market's tick direction, and what
    each linear connection was last sent (its deltas are against that)."""

    def __init__(self) -> None:
        self._cs = itertools.count(1)
        # market -> (previous last price, current last price, direction)
        self._moves: dict[str, tuple[Decimal, Decimal, str]] = {}
        self._sent: weakref.WeakKeyDictionary[Client, dict[str, Frame]] = (
            weakref.WeakKeyDictionary()
        )

    def snapshot(self, client: Client, t: Ticker) -> Frame:
        """Returns the snapshot a new subscriber gets (and remembers it for the deltas)."""
        category, symbol = split(t.market)
        if category != "linear":
            return self._envelope_spot(symbol, t, spot_item(t))
        item = linear_item(t, self._direction(t))
        self._sent.setdefault(client, {})[t.market] = item
        return self._envelope_linear(symbol, "snapshot", t, item)

    def push(self, client: Client, t: Ticker) -> Frame:
        """Returns the push of a price to a subscriber: a delta of what changed (linear, once a
        snapshot went out), else a snapshot."""
        category, symbol = split(t.market)
        if category != "linear":
            return self._envelope_spot(symbol, t, spot_item(t))
        item = linear_item(t, self._direction(t))
        sent = self._sent.setdefault(client, {})
        before = sent.get(t.market)
        sent[t.market] = item
        if before is None:
            return self._envelope_linear(symbol, "snapshot", t, item)
        delta = {k: v for k, v in item.items() if k == "symbol" or before.get(k) != v}
        return self._envelope_linear(symbol, "delta", t, delta)

    def forget(self, client: Client, market: str) -> None:
        """Drops what a connection was sent of a market (it unsubscribed)."""
        self._sent.get(client, {}).pop(market, None)

    def _direction(self, t: Ticker) -> str:
        previous, current, direction = self._moves.setdefault(
            t.market, (t.last, t.last, "ZeroPlusTick")
        )
        if t.last != current:
            previous, current = current, t.last
            direction = "PlusTick" if current > previous else "MinusTick"
            self._moves[t.market] = (previous, current, direction)
        return direction

    def _envelope_linear(self, symbol: str, kind: str, t: Ticker, data: Frame) -> Frame:
        return {"topic": f"tickers.{symbol}", "type": kind, "data": data, "cs": next(self._cs),
                "ts": t.ts}  # fmt: skip

    def _envelope_spot(self, symbol: str, t: Ticker, data: Frame) -> Frame:
        return {"topic": f"tickers.{symbol}", "ts": t.ts, "type": "snapshot",
                "cs": next(self._cs), "data": data}  # fmt: skip
