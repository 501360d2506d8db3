"""Binance market-data payloads from the engine's Ticker, key for key as the documented samples
in tests/data/binance/ show them (24hrTicker, bookTicker, markPriceUpdate; spot and USD-M)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.market import Ticker
from simulator.money import fmt, fmt_amount

Frame = dict[str, Any]
DAY_MS = 86_400_000
FUNDING_MS = 8 * 3_600_000  # USD-M funds every 8 hours


def _percent(change: Decimal, base: Decimal) -> str:
    return fmt((change / base * 100).quantize(Decimal("0.001"))) if base else "0.000"


def ticker_24hr(t: Ticker, futures: bool) -> Frame:
    """Builds a `<symbol>@ticker` payload; spot's also carries the best bid and ask."""
    weighted = t.vol_quote24h / t.vol24h if t.vol24h else t.last
    frame: Frame = {
        "e": "24hrTicker",
        "E": t.ts,
        "s": t.market,
        "p": fmt(t.last - t.open24h),
        "P": _percent(t.last - t.open24h, t.open24h),
        "w": fmt_amount(weighted),
    }
    if not futures:
        frame["x"] = fmt(t.open24h)  # the previous day's close: the simulator's day opened there
    frame.update({"c": fmt(t.last), "Q": fmt_amount(t.last_size)})
    if not futures:
        frame.update({"b": fmt(t.bid), "B": "1", "a": fmt(t.ask), "A": "1"})
    frame.update(
        {
            "o": fmt(t.open24h),
            "h": fmt(t.high24h),
            "l": fmt(t.low24h),
            "v": fmt_amount(t.vol24h),
            "q": fmt_amount(t.vol_quote24h),
            "O": t.ts - DAY_MS,
            "C": t.ts,
            "F": 0,
            "L": 0,
            "n": 0,
        }
    )
    return frame


def book_ticker(t: Ticker, update_id: int, futures: bool) -> Frame:
    """Builds a `<symbol>@bookTicker` payload (spot's has no event type and no times)."""
    head: Frame = (
        {"e": "bookTicker", "u": update_id, "E": t.ts, "T": t.ts} if futures else {"u": update_id}
    )
    return {**head, "s": t.market, "b": fmt(t.bid), "B": "1", "a": fmt(t.ask), "A": "1"}


def mark_price(t: Ticker) -> Frame:
    """Builds a `<symbol>@markPrice` payload: mark, index and settlement estimate are the last
    price (the simulator has one price per market), no funding."""
    price = fmt(t.last)
    return {
        "e": "markPriceUpdate",
        "E": t.ts,
        "s": t.market,
        "p": price,
        "i": price,
        "P": price,
        "r": "0.00000000",
        "T": (t.ts // FUNDING_MS + 1) * FUNDING_MS,
    }


def combined(stream: str, data: Frame) -> Frame:
    """Wraps a payload as a combined stream (`/stream?streams=...`) sends it."""
    return {"stream": stream, "data": data}
