"""`python -m bench.parse_cost`: a venue parser's cost per frame, beside OKX's on its tickers push.

Each documented market-data frame (tests/data/<venue>/) goes through the venue's real parse()
and, apart, its lean row function on the decoded data. The machine is shared, so the cases are
timed in interleaved rounds (process CPU time, best of a few repeats) and each ratio to OKX is
the median over the rounds of the ratio within a round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import orjson

from watcher.venues.binance import Binance
from watcher.venues.binance.ticks import LEAN
from watcher.venues.binanceusdm import BinanceUsdm
from watcher.venues.bybit import TickerBook
from watcher.venues.okx import Okx, ticker_rows

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _frame(venue: str, name: str) -> bytes:
    return orjson.dumps(orjson.loads((DATA / venue / name).read_bytes()))


def _combined(stream: str, name: str) -> bytes:
    data = orjson.loads((DATA / "binance" / name).read_bytes())
    return orjson.dumps({"stream": stream, "data": data})


def _bybit_delta(fields: Sequence[str]) -> bytes:
    """Bybit's documented linear snapshot cut down to `fields`, as a delta (none is documented)."""
    push = orjson.loads((DATA / "bybit" / "bybit_ws_tickers_linear_snapshot.json").read_bytes())
    push["type"] = "delta"
    push["data"] = {k: v for k, v in push["data"].items() if k == "symbol" or k in fields}
    return orjson.dumps(push)


def _bybit(out: dict[str, tuple[Callable[[], object], Callable[[], object]]]) -> None:
    """Add Bybit's ticker frames: every kind of snapshot, and the deltas linear sends after one."""
    trade = ("lastPrice", "bid1Price", "ask1Price", "price24hPcnt", "turnover24h", "volume24h")
    frames = [
        ("bybit linear delta", "linear", _bybit_delta(trade)),
        ("bybit mark delta", "linear", _bybit_delta(("markPrice",))),
        (
            "bybit linear snapshot",
            "linear",
            _frame("bybit", "bybit_ws_tickers_linear_snapshot.json"),
        ),
        ("bybit spot snapshot", "spot", _frame("bybit", "bybit_ws_tickers_spot_snapshot.json")),
        (
            "bybit option snapshot",
            "option",
            _frame("bybit", "bybit_ws_tickers_option_snapshot.json"),
        ),
    ]
    for label, category, raw in frames:
        book = TickerBook(category, f"public-{category}")
        book.parse(_frame("bybit", "bybit_ws_tickers_linear_snapshot.json"))  # deltas merge on it
        push: dict[str, Any] = orjson.loads(raw)
        rows = partial(book.rows, push["data"], push["type"], push["ts"])
        out[label] = (partial(book.parse, raw), rows)


def cases() -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Return name -> (parse the frame, make rows from its decoded data); OKX's first."""
    okx, spot, usdm = Okx("bench"), Binance("bench"), BinanceUsdm("bench")
    okx_frame = _frame("okx", "okx_ws_tickers_push.json")
    okx_data = orjson.loads(okx_frame)["data"]
    out: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "okx tickers": (partial(okx.parse, okx_frame), partial(ticker_rows, okx_data)),
    }
    binance = [
        ("binance 24hrTicker", spot, "bnbbtc@ticker", "binance_spot_ws_24hrTicker_push.json"),
        ("binance bookTicker", spot, "bnbusdt@bookTicker", "binance_spot_ws_bookTicker_push.json"),
        ("usdm 24hrTicker", usdm, "btcusdt@ticker", "binance_futures_ws_24hrTicker_push.json"),
        ("usdm bookTicker", usdm, "bnbusdt@bookTicker", "binance_futures_ws_bookTicker_push.json"),
        (
            "usdm markPrice",
            usdm,
            "btcusdt@markPrice@1s",
            "binance_futures_ws_markPriceUpdate_push.json",
        ),
    ]
    for label, venue, stream, name in binance:
        raw = _combined(stream, name)
        data: dict[str, Any] = orjson.loads(raw)["data"]
        out[label] = (partial(venue.parse, raw), partial(LEAN[data.get("e")], data))
    _bybit(out)
    return out


def _cost(fn: Callable[[], object], number: int) -> float:
    timer = timeit.Timer(fn, timer=time.process_time)
    return min(timer.repeat(repeat=3, number=number)) / number


def measure(rounds: int, number: int) -> list[tuple[str, float, float, float, float]]:
    """Return per case: parse ns, rows ns, and their median ratios to OKX's."""
    table = cases()
    parse: dict[str, list[float]] = {name: [] for name in table}
    rows: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(rounds):
        for name, (parse_fn, rows_fn) in table.items():
            parse[name].append(_cost(parse_fn, number))
            rows[name].append(_cost(rows_fn, number))
    base = "okx tickers"
    out = []
    for name in table:
        p_ratio = statistics.median(p / b for p, b in zip(parse[name], parse[base], strict=True))
        r_ratio = statistics.median(r / b for r, b in zip(rows[name], rows[base], strict=True))
        out.append((name, min(parse[name]) * 1e9, min(rows[name]) * 1e9, p_ratio, r_ratio))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.parse_cost", description=__doc__)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--number", type=int, default=20_000)
    a = p.parse_args(argv)
    print(f"{'frame':<22} {'parse ns':>9} {'rows ns':>8} {'parse/okx':>10} {'rows/okx':>9}")
    for name, parse_ns, rows_ns, p_ratio, r_ratio in measure(a.rounds, a.number):
        print(f"{name:<22} {parse_ns:>9.0f} {rows_ns:>8.0f} {p_ratio:>10.2f} {r_ratio:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
