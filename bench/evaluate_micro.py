"""CPU micro-benchmark of the evaluation hot path, without Redis: µs per tick row.

`python -m bench.evaluate_micro [--rules N] [--markets M] [--ticks T] [--repeat R] [--moves K]
[--margins G] [--rate S] [--rebind B]` builds bench/rulegen.py's rules (a `tables:` CSV of price
rules, 0.1 % of them firing; with --moves, K move rules beside them over the same markets, none
firing; with --margins, G margin rules, which read private events and so no tick), compiles them
as a worker does (workers.context.Context), and times workers.firings.Batch over tick entries
written as the watcher writes them (100 rows per entry, 20 entries per batch): decoding, the
previous price per series, the index, and the firings of the rules that fire. After each batch
every once-rule that fired is retired, as the drain does once its claim is answered. The ticks
span exchange time at --rate ticks a second (default 20,000, make bench's first phase), so a
move's ring closes buckets as it does in a worker (a 1m window every 3 s).

Stateful kinds (moves, margins, the emulated orders) are bound to one stream's state as a drain
binds them: anew every --rebind batches (a new evaluate job that had to load the state from
Redis; 0: never, a job that found its own state in the worker, workers/evaluate.py), each
batch's changed state taken as _Drain saves it. Such runs also print the state fields and bytes
written per batch (what each batch's MULTI sends to Redis).
Times are the process's CPU time (time.process_time), less disturbed than wall time by other
processes; it prints one line per repeat and the best run: on a shared machine the minimum is
the figure to compare between two versions of the code. `--calls` adds a figure no other
process disturbs: Python and builtin function calls per tick, counted by cProfile.

`--orders` times bench/ordergen.py's emulated orders instead (`python -m bench --orders`'s book:
10,000 stops, take-profits and trailing stops over 1,000 markets, --firing of them firing, the
trailing stops never).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.loadgen import Load, market_name, price_paths
from bench.ordergen import write_orders
from bench.rulegen import RuleSpec, add_rules, write_rules
from rules.kinds import Dispatch, KindState
from rules.load import RuleSet, load_rules
from watcher import keys
from watcher.events import TickRow, encode_ticks
from workers.context import Context
from workers.firings import Batch
from workers.state import NEW, ClaimResult

ROWS_PER_ENTRY = 100
ENTRIES_PER_BATCH = 20
Entry = tuple[bytes, dict[bytes, bytes]]
RATE = 20_000  # ticks a second of exchange time
START_MS = 1_700_000_000_000


def entries_for(load: Load, ticks: int, rate: float = RATE) -> list[Entry]:
    """Tick entries over the load's markets, round-robin along their seeded price paths, `rate`
    ticks a second of exchange time."""
    paths = price_paths(load)
    rows: list[TickRow] = []
    step = 0
    while len(rows) < ticks:
        for m in range(load.markets):
            price = paths[m][step % load.steps]
            ms = START_MS + len(rows) * 1000 // rate
            rows.append((market_name(m), "last", str(price), "", "", int(ms)))
        step += 1
    out: list[Entry] = []
    for n, start in enumerate(range(0, ticks, ROWS_PER_ENTRY)):
        data = encode_ticks(rows[start : start + ROWS_PER_ENTRY])
        out.append((f"{n + 1}-0".encode(), {b"k": b"ticks", b"v": b"okx", b"d": data}))
    return out


class Drain:
    """The stateful kinds' side of a drain: one stream's KindStates, the matchers bound to them
    (anew every `rebind` batches: a new evaluate job; 0: once) and each batch's changes taken."""

    def __init__(self, context: Context, rebind: int) -> None:
        self.context = context
        self.rebind = rebind
        self.states = {kind: KindState() for kind in context.dispatch.stateful}
        self.batches = 0
        self.written = 0  # state fields written or deleted, over every batch
        self.bytes = 0  # their names' and values' bytes

    def dispatch(self) -> Dispatch:
        """Return the dispatch of the next batch (bound afresh when a new job would start)."""
        if self.batches == 0 or (self.rebind and self.batches % self.rebind == 0):
            # A new job loads the state saved so far: what the drain's HGETALL answers.
            self.states = {k: KindState(s.fields) for k, s in self.states.items()}
            self._bound = self.context.dispatch.bound(self.states)
        self.batches += 1
        return self._bound

    def save(self) -> None:
        """Take what the batch changed, as _Drain._persist_and_ack does."""
        for state in self.states.values():
            written, deleted = state.take()
            self.written += len(written) + len(deleted)
            self.bytes += sum(len(f) + len(v) for f, v in written.items())
            self.bytes += sum(len(f) for f in deleted)


def run_once(
    context: Context, entries: list[Entry], drain: Drain | None = None
) -> tuple[float, int, int]:
    """Evaluate every entry in batches; return (CPU seconds, ticks evaluated, firings)."""
    stream = keys.ticks_stream(0)
    last: dict[str, object] = {}
    evaluated = fired = 0
    start = time.process_time()
    for b in range(0, len(entries), ENTRIES_PER_BATCH):
        dispatch = drain.dispatch() if drain is not None else None
        batch = Batch(stream, context, last, dispatch)  # type: ignore[arg-type]
        for entry_id, fields in entries[b : b + ENTRIES_PER_BATCH]:
            batch.ids.append(entry_id)
            batch.entry(entry_id.decode(), fields)
        # Every claim won: once-rules retire, as _Drain does once its claims are answered.
        won = [ClaimResult(NEW, -1)] * len(batch.firings)
        context.remember(batch.firings, won)
        if drain is not None:
            drain.save()
        evaluated += batch.evaluated
        fired += len(batch.firings)
    return time.process_time() - start, evaluated, fired


def main(argv: Sequence[str] | None = None) -> int:
    """Build the rules once, then time `--repeat` fresh evaluations of the same ticks."""
    p = argparse.ArgumentParser(prog="python -m bench.evaluate_micro", description=__doc__)
    p.add_argument("--rules", type=int, default=100_000)
    p.add_argument("--markets", type=int, help="default 100 (--orders: 1000)")
    p.add_argument("--ticks", type=int, default=200_000)
    p.add_argument("--fire-fraction", type=float, default=0.001)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--moves", type=int, default=0, help="move rules beside the price rules")
    p.add_argument("--margins", type=int, default=0, help="margin rules beside them")
    p.add_argument("--calls", action="store_true", help="also count function calls per tick")
    o = p.add_argument_group("emulated orders (--orders)")
    o.add_argument("--orders", action="store_true", help="bench --orders's order rules")
    o.add_argument("--order-count", type=int, default=10_000, help="orders armed")
    o.add_argument("--firing", type=int, default=500, help="orders that fire")
    p.add_argument("--rate", type=float, default=RATE, help="ticks/s of exchange time")
    p.add_argument("--rebind", type=int, default=5, help="batches per evaluate job (0: one job)")
    a = p.parse_args(argv)
    markets = a.markets or (1000 if a.orders else 100)
    with tempfile.TemporaryDirectory() as tmp:
        if a.orders:
            load = Load(markets, ((1000, 1.0),), seed=1, steps=-(-a.ticks // markets) + 2)
            rounds = a.ticks // markets
            yaml, expected = write_orders(
                load, a.order_count, a.firing, range(rounds // 5, rounds - 1), Path(tmp)
            )
            fires, what = len(expected), f"{a.order_count} orders"
        else:
            load = Load(markets, ((1000, 1.0),), seed=1)
            yaml, fires = write_rules(load, RuleSpec(a.rules, a.fire_fraction), Path(tmp))
            add_rules(yaml, load, a.moves, a.margins)
            what = f"{a.rules} rules" + (f" + {a.moves} move rules" if a.moves else "")
            what += f" + {a.margins} margin rules" if a.margins else ""
        ruleset = load_rules([yaml], env={"KLAXON_INBOX_PORT": "1"})
    entries = entries_for(load, a.ticks, a.rate)
    best = float("inf")
    for n in range(a.repeat):
        context = Context.build(ruleset)  # fresh: nothing retired yet
        drain = Drain(context, a.rebind) if context.dispatch.stateful else None
        seconds, evaluated, fired = run_once(context, entries, drain)
        per_tick = seconds / evaluated * 1e6
        best = min(best, per_tick)
        saved = ""
        if drain is not None:
            saved = (
                f", {drain.written / drain.batches:.1f} state fields"
                f" ({drain.bytes / drain.batches:.0f} bytes) written per batch"
            )
        print(
            f"run {n + 1}: {evaluated} ticks in {seconds:.3f} CPU s = {per_tick:.3f} µs/tick, "
            f"{fired} firings{saved}"
        )
    print(f"best: {best:.3f} µs/tick ({what}, {markets} markets, {fires} firing rules)")
    if a.calls:
        print(f"calls: {_calls(ruleset, entries, a.rebind)}")
    return 0


def _calls(ruleset: RuleSet, entries: list[Entry], rebind: int) -> str:
    """Count Python and builtin function calls per tick over one evaluation."""
    profile = cProfile.Profile()
    context = Context.build(ruleset)
    drain = Drain(context, rebind) if context.dispatch.stateful else None
    profile.enable()
    _, evaluated, _ = run_once(context, entries, drain)
    profile.disable()
    calls = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    return f"{calls / evaluated:.2f} per tick ({calls} calls)"


if __name__ == "__main__":
    sys.exit(main())
