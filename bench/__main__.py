"""`python -m bench` (or `klaxon bench`, `make bench`): run the hot-path benchmark.

`--orders` runs the emulated orders benchmark instead (bench/orders.py). The default is `make
bench`'s 20-second run: 4 s of warm-up at 20,000 ticks/s (the firing
rules all fire on the first pass), 8 s at 20,000/s and 8 s at 50,000/s. `--moves K --margins G`
adds K move and G margin rules (none firing) beside the price rules: issue 7's mix is
`--moves 10000 --margins 1000`. --full runs
10 s + 30 s at 20,000/s and 60 s at 50,000/s, the sustained-load check. --chaos runs the chaos
soak instead (bench/chaos.py; `python -m bench --chaos --help`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import orders
from bench.orders import OrderOptions
from bench.report import save, table
from bench.run import ROOT, Options, execute
from bench.venues import VENUES


def _phases(text: str) -> tuple[tuple[int, float], ...]:
    out = []
    for part in text.split(","):
        rate, _, seconds = part.partition("x")
        out.append((int(rate), float(seconds)))
    return tuple(out)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run, print the table, write the JSON (--chaos: the chaos soak's)."""
    if "--chaos" in (sys.argv[1:] if argv is None else argv):
        from bench.chaos_main import main as chaos

        return chaos(argv)
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--markets", type=int, default=Options.markets)
    p.add_argument("--rules", type=int, default=Options.rules)
    p.add_argument("--moves", type=int, default=Options.moves, help="move rules beside them")
    p.add_argument("--margins", type=int, default=Options.margins, help="margin rules too")
    p.add_argument("--phases", type=_phases, help="RATExSECONDS,... e.g. 20000x10,50000x10")
    p.add_argument("--full", action="store_true", help="20000x10,20000x30,50000x60")
    p.add_argument("--workers", type=int, default=Options.workers, help="evaluate-only")
    p.add_argument("--notifiers", type=int, default=Options.notifiers, help="notify-only")
    p.add_argument("--partitions", type=int, default=Options.partitions)
    p.add_argument("--fire-fraction", type=float, default=Options.fire_fraction)
    p.add_argument("--seed", type=int, default=Options.seed)
    p.add_argument(
        "--venue", choices=sorted(VENUES), default=Options.venue, help="whose ticker frames"
    )
    p.add_argument("--baseline-seconds", type=float, default=Options.baseline_seconds)
    p.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    o = p.add_argument_group("emulated orders (--orders)")
    o.add_argument("--orders", action="store_true", help="the emulated orders benchmark")
    o.add_argument("--order-count", type=int, default=OrderOptions.orders, help="orders armed")
    o.add_argument("--firing", type=int, default=OrderOptions.firing, help="orders that fire")
    o.add_argument("--rate", type=int, default=OrderOptions.rate, help="ticks per second")
    o.add_argument("--seconds", type=float, default=OrderOptions.seconds, help="after warm-up")
    o.add_argument("--queued", action="store_true", help="place through the orders queue")
    o.add_argument(
        "--answer-ms", type=int, default=OrderOptions.answer_ms, help="venue's answer delay"
    )
    o.add_argument("--runs", type=int, default=1, help="runs in turn, their orders pooled")
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be at least 1")
    if a.orders:
        return _orders(a)
    full = ((20_000, 10.0), (20_000, 30.0), (50_000, 60.0))
    phases = a.phases or (full if a.full else Options.phases)
    opts = Options(
        markets=a.markets, rules=a.rules, moves=a.moves, margins=a.margins, phases=phases,
        workers=a.workers, notifiers=a.notifiers,
        partitions=a.partitions, fire_fraction=a.fire_fraction, seed=a.seed, venue=a.venue,
        baseline_seconds=a.baseline_seconds,
    )  # fmt: skip
    result = execute(opts, a.cache)
    print(table(opts, result))
    print(f"\nwritten: {save(opts, result).relative_to(ROOT)}")
    return 0


def _orders(a: argparse.Namespace) -> int:
    opts = OrderOptions(
        markets=a.markets, orders=a.order_count, firing=a.firing, rate=a.rate, seconds=a.seconds,
        workers=a.workers, partitions=a.partitions, inline=not a.queued, answer_ms=a.answer_ms,
        seed=a.seed,
    )  # fmt: skip
    runs = []
    for _ in range(a.runs):
        figures = orders.execute(opts)
        print(orders.table(opts, figures))
        path = orders.save(opts, figures)
        print(f"\nwritten: {path.relative_to(ROOT)}")
        runs.append((path.name, figures))
    if len(runs) > 1:
        figures = orders.pooled(runs)
        print(f"\n{orders.pooled_table(figures)}")
        print(f"\nwritten: {orders.save(opts, figures, pooled=True).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
