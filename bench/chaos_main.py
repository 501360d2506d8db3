"""`python -m bench --chaos [--minutes M --rate R --fills F --kill-every LO-HI ...]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.chaos import ChaosOptions, execute
from bench.report import save
from bench.run import ROOT


def _span(text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    return float(lo), float(hi or lo)


def table(result: dict[str, Any]) -> str:
    """The soak's figures, one per line."""
    heal = result["heal_max_s"]
    rows = [
        ("kills (watcher / worker / redis)",
         " / ".join(str(result["kills"].get(k, 0)) for k in ("watcher", "worker", "redis"))),
        ("unplanned exits (restarted)", str(result["unplanned_exits"] or 0)),
        ("longest heal s (watcher / worker / redis)",
         " / ".join(str(heal.get(k)) for k in ("watcher", "worker", "redis"))),
        ("fills made on the simulator / alerts delivered",
         f"{result['fills_made']} / {result['fill_alerts_delivered']}"),
        ("fills lost / duplicate fill alerts",
         f"{result['fills_lost']} / {result['fill_duplicates']}"),
        ("firing rules expected / delivered / duplicates",
         f"{result['firing_expected']} / {result['firing_delivered']}"
         f" / {result['firing_duplicates']}"),
        ("emulated stops armed / orders placed / duplicate orders",
         f"{result['stop_orders_expected']} / {result['stop_orders_placed']}"
         f" / {result['duplicate_orders']}"),
        ("stop fills notified / duplicates",
         f"{result['stop_fills_notified']} / {result['stop_fill_duplicates']}"),
        ("ticks sent / into Redis / evaluated",
         f"{result['ticks_sent']} / {result['ticks_into_redis']} / {result['evaluated']}"),
        ("redis appendfsync", str(result["appendfsync"])),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the soak's options, run it, print the figures, write the JSON."""
    d = ChaosOptions()
    p = argparse.ArgumentParser(prog="python -m bench --chaos", description=__doc__)
    p.add_argument("--chaos", action="store_true", help="run the chaos soak")
    p.add_argument("--minutes", type=float, default=d.minutes)
    p.add_argument("--rate", type=int, default=d.rate, help="ticks/s")
    p.add_argument("--fills", type=int, default=d.fills)
    p.add_argument("--firing", type=int, default=d.firing, help="price rules that fire")
    p.add_argument("--markets", type=int, default=d.markets)
    p.add_argument("--stops", type=int, default=d.stops, help="emulated stops armed")
    p.add_argument("--stop-rounds", type=int, default=d.stop_rounds, help="reloads arming them")
    p.add_argument("--kill-every", type=_span, default=d.kill_every, help="LO-HI seconds")
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--keep", type=Path, help="keep the logs and Redis data in this directory")
    a = p.parse_args(argv)
    opts = ChaosOptions(
        minutes=a.minutes, rate=a.rate, fills=a.fills, firing=a.firing, markets=a.markets,
        stops=a.stops, stop_rounds=a.stop_rounds, kill_every=a.kill_every, workers=a.workers,
        partitions=a.workers, seed=a.seed,
    )  # fmt: skip
    result = execute(opts, a.keep)
    print(table(result))
    print(f"\nwritten: {save(opts, result, 'chaos').relative_to(ROOT)}")
    return 0
