"""The venues the benchmark can load (`python -m bench --venue ...`): each one's market names,
its ticker push, and the watcher's settings for a load generator at a URL.

Every push is the venue's documented one with the market, the price (and bid/ask) and a 13-digit
ms timestamp set; the load generator patches the timestamp at send time, where `ts_marker` ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import orjson

from watcher.venues import Parsed
from watcher.venues.binance import Binance
from watcher.venues.bybit import TickerBook
from watcher.venues.okx import Okx

TS_PLACEHOLDER = 1_000_000_000_000  # 13 digits, overwritten at send time
_SPREAD = Decimal("0.1")


@dataclass(frozen=True)
class BenchVenue:
    """How the benchmark speaks one venue."""

    name: str
    market: Callable[[int], str]  # the i-th market, as rules name it
    payload: Callable[[str, Decimal], bytes]  # a ticker push of a market at a price
    ts_marker: bytes  # the 13-digit timestamp follows its last occurrence in a payload
    subscribes: bool  # the watcher sends subscribe requests (else its URL names the streams)
    env: Callable[[str], dict[str, str]]  # the watcher's settings for a generator at ws_url
    parser: Callable[[], Callable[[str | bytes], Parsed]]  # a fresh parser of its pushes


def _okx_payload(market: str, price: Decimal) -> bytes:
    """One OKX tickers push, field for field as in the documentation's example."""
    data = {
        "instType": "SPOT", "instId": market, "last": str(price), "lastSz": "0.1",
        "askPx": str(price + _SPREAD), "askSz": "11", "bidPx": str(price - _SPREAD),
        "bidSz": "5", "open24h": "100", "high24h": "110", "low24h": "90", "volCcy24h": "2222",
        "vol24h": "2222", "sodUtc0": "100", "sodUtc8": "100", "ts": str(TS_PLACEHOLDER),
    }  # fmt: skip
    return orjson.dumps({"arg": {"channel": "tickers", "instId": market}, "data": [data]})


def _bybit_payload(market: str, price: Decimal) -> bytes:
    """A Bybit linear ticker delta with what a trade changes (the fields of bench.parse_cost's
    "bybit linear delta": Bybit documents no delta, the fields come from its snapshot)."""
    symbol = market.partition(":")[2]
    data = {
        "symbol": symbol, "lastPrice": str(price), "bid1Price": str(price - _SPREAD),
        "ask1Price": str(price + _SPREAD), "price24hPcnt": "0.012", "turnover24h": "2222.5",
        "volume24h": "22.2",
    }  # fmt: skip
    push = {"topic": f"tickers.{symbol}", "type": "delta", "data": data, "cs": 24987956059,
            "ts": TS_PLACEHOLDER}  # fmt: skip
    return orjson.dumps(push)


def _binance_payload(market: str, price: Decimal) -> bytes:
    """A Binance spot 24hrTicker on the combined stream, as the documented push."""
    data = {
        "e": "24hrTicker", "E": TS_PLACEHOLDER, "s": market, "p": "0.0015", "P": "1.50",
        "w": "100.0", "x": "99.9", "c": str(price), "Q": "10", "b": str(price - _SPREAD),
        "B": "10", "a": str(price + _SPREAD), "A": "100", "o": "100.0", "h": "110.0",
        "l": "90.0", "v": "10000", "q": "18", "O": 0, "C": 86400000, "F": 0, "L": 18150,
        "n": 18151,
    }  # fmt: skip
    return orjson.dumps({"stream": f"{market.lower()}@ticker", "data": data})


def _accounts(venue: str) -> str:
    return json.dumps([{"venue": venue, "account": "main"}])


VENUES: dict[str, BenchVenue] = {
    "okx": BenchVenue(
        name="okx",
        market=lambda i: f"M{i:04d}-USDT",
        payload=_okx_payload,
        ts_marker=b'"ts":"',
        subscribes=True,
        env=lambda url: {"KLAXON_ACCOUNTS": _accounts("okx"), "KLAXON_OKX_WS_PUBLIC_URL": url},
        parser=lambda: Okx("bench").parse,
    ),
    "bybit": BenchVenue(
        name="bybit",
        market=lambda i: f"linear:M{i:04d}USDT",
        payload=_bybit_payload,
        ts_marker=b'"ts":',
        subscribes=True,
        env=lambda url: {
            "KLAXON_ACCOUNTS": _accounts("bybit"),
            "KLAXON_BYBIT_WS_PUBLIC_URL": url.rstrip("/"),  # the watcher appends /linear
        },
        parser=lambda: TickerBook("linear", "public-linear").parse,
    ),
    "binance": BenchVenue(
        name="binance",
        market=lambda i: f"M{i:04d}USDT",
        payload=_binance_payload,
        ts_marker=b'"E":',
        subscribes=False,
        env=lambda url: {
            "KLAXON_ACCOUNTS": _accounts("binance"),
            "KLAXON_BINANCE_STREAM_URL": url.rstrip("/"),
            "KLAXON_BINANCE_STREAMS_PER_CONNECTION": "1024",  # one connection, as the others
        },
        parser=lambda: Binance("bench").parse,
    ),
}
