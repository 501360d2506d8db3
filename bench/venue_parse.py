"""`python -m bench.venue_parse`: per-frame cost of each venue's lean ticker parse, beside OKX's.

Each frame is a documented one from tests/data (compacted, as venues send them), parsed by the
venue's production parse function (JSON decode, checks, rows) in a loop. Rounds interleave the
venues and the median is reported, in CPU time, so that a busy machine skews all alike; the
ratio to OKX's tickers frame is the number to read, not the microseconds.
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

from watcher.venues import Parsed
from watcher.venues.bybit import TickerBook
from watcher.venues.okx import Okx

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def _compact(path: Path) -> bytes:
    return orjson.dumps(orjson.loads(path.read_bytes()))


def _delta(path: Path, fields: Sequence[str]) -> bytes:
    """A documented snapshot cut down to `fields`, as a delta (Bybit documents no delta frame)."""
    push: dict[str, Any] = orjson.loads(path.read_bytes())
    push["type"] = "delta"
    push["data"] = {k: v for k, v in push["data"].items() if k == "symbol" or k in fields}
    return orjson.dumps(push)


def cases() -> list[tuple[str, Callable[[bytes], Parsed], bytes]]:
    """Return (label, parse, frame) for OKX's tickers push and each Bybit ticker frame kind."""
    okx, bybit = DATA / "okx", DATA / "bybit"
    linear_doc = bybit / "bybit_ws_tickers_linear_snapshot.json"
    linear = TickerBook("linear", "public-linear")
    linear.parse(_compact(linear_doc))
    trade = ("lastPrice", "bid1Price", "ask1Price", "price24hPcnt", "turnover24h", "volume24h")
    spot = TickerBook("spot", "public-spot")
    option = TickerBook("option", "public-option")
    return [
        ("okx tickers", Okx().parse, _compact(okx / "okx_ws_tickers_push.json")),
        ("bybit linear delta (trade)", linear.parse, _delta(linear_doc, trade)),
        ("bybit linear delta (mark)", linear.parse, _delta(linear_doc, ("markPrice",))),
        ("bybit linear snapshot", linear.parse, _compact(linear_doc)),
        (
            "bybit spot snapshot",
            spot.parse,
            _compact(bybit / "bybit_ws_tickers_spot_snapshot.json"),
        ),
        (
            "bybit option snapshot",
            option.parse,
            _compact(bybit / "bybit_ws_tickers_option_snapshot.json"),
        ),
    ]


def measure(rounds: int, number: int) -> list[tuple[str, int, float, float]]:
    """Return (label, rows per frame, median us per frame, ratio to OKX) per case."""
    table = cases()
    samples: dict[str, list[float]] = {label: [] for label, _, _ in table}
    for _ in range(rounds):
        for label, parse, frame in table:
            timer = timeit.Timer(partial(parse, frame), timer=time.process_time)
            samples[label].append(timer.timeit(number) / number * 1e6)
    okx = statistics.median(samples[table[0][0]])
    out = []
    for label, parse, frame in table:
        cost = statistics.median(samples[label])
        out.append((label, len(parse(frame).ticks), cost, cost / okx))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table."""
    p = argparse.ArgumentParser(prog="python -m bench.venue_parse", description=__doc__)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--number", type=int, default=20_000)
    a = p.parse_args(argv)
    print(f"{'frame':30} {'rows':>4} {'us/frame':>9} {'x okx':>6}")
    for label, rows, cost, ratio in measure(a.rounds, a.number):
        print(f"{label:30} {rows:>4} {cost:>9.2f} {ratio:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
