"""The design klaxon replaces, measured on the same load: one rq job per tick, forking worker.

Each tick becomes `evaluate_tick(venue, row)` on rq's default (forking) Worker; with no
process-local state across jobs, the previous price lives in Redis and is swapped per tick.
The evaluation itself is klaxon's (the same PriceIndex and claims), so the ratio measures the
job-per-tick design, not a slower evaluator.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import redis
from rq import Queue, Worker, get_current_job

from watcher.events import TickRow

QUEUE = "bench-baseline"
DONE = "bench:baseline:done"


def evaluate_tick(venue: str, row: TickRow) -> int:
    """Evaluate one tick against the loaded rules; return how many rules it fired."""
    from watcher import keys
    from workers import context
    from workers.state import ClaimRequest, Scripts, claim_firings

    job = get_current_job()
    assert job is not None
    r: redis.Redis = job.connection
    market, source, price, _, _, ms = row
    prev_text = r.getset(f"bench:baseline:last:{venue}:{market}:{source}", price)
    prev = Decimal(prev_text.decode()) if isinstance(prev_text, bytes) else None
    ctx = context.current()
    now = Decimal(price)
    ticks = ctx.dispatch.ticks
    fired = [
        book[position].id
        for joint in ticks.candidates(venue, market, source, prev, now, int(ms))
        for _, book, position in (ticks.resolve(joint),)
    ]
    if fired:
        requests = [ClaimRequest(keys.claim(rule), f"{rule}@{job.id}", 0) for rule in fired]
        claim_firings(r, Scripts.of(r), requests)
    r.hincrby(DONE, "jobs", 1)
    return len(fired)


def work(redis_url: str, rules: list[Path]) -> None:
    """Load the rules, then run rq's default forking Worker on the baseline queue."""
    from workers.service import load

    load(rules)
    connection = redis.Redis.from_url(redis_url)
    Worker([Queue(QUEUE, connection=connection)], connection=connection).work()


if __name__ == "__main__":
    work(sys.argv[1], [Path(p) for p in sys.argv[2:]])
