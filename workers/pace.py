"""How long an evaluate job keeps its worker, and how many entries one of its reads takes.

Workers are fewer than busy streams (two ticker partitions and an account's private stream on
two workers), so a stream may wait in the evaluate queue for a running job to end. Enqueuing is
deduplicated per stream (the dirty flag stays set while the stream's job waits and drains, see
workers/evaluate.py), so a job in the evaluate queue is a stream waiting for a worker, unless
its stream is being drained (a job queued as the drain was letting go: workers/waiting.py). A job
that finds one waiting after a batch ends once it has run its slice, and otherwise keeps its
worker up to its budget; its stream goes on in a new job at the back of the queue.

Slices differ by stream. An account's (or the system) stream hands over after SLICE_SECONDS:
its order updates and fills come in bursts of hundreds of events at ~1 ms each, and a ticker
stream, where a firing tick waits, must not wait out a whole burst. A ticker stream keeps its
worker for its budget (MARKET_SLICE_SECONDS): handing over costs a new rq job (pickup, the lock,
and the stream's state when the worker did not keep it, workers/held.py), and with short slices
for every stream two workers spent so much of their time handing over that the ticker streams
fell behind (bench --orders, README). On a worker that also places or delivers, a queued order
ends a job at once, a notify job after the job's first DELIVERY_SLICE_SECONDS.

While no other job waits, a job keeps its worker up to its budget, BUDGET_SECONDS, far inside
rq's job timeout (300 s, watcher/publish.py). It used to end every second, and the job that
went on was usually the same worker's next one, finding its kept state (workers/held.py).
But when two ticker jobs ended at about the same time, each worker took the other's stream and
loaded its state: 20-60 ms of CPU with 10,000 move rules over 1,000 markets, more on two
loaded cores. In make bench's mix that stall set the p99 of two runs in three (30-75 ms,
against 4-12 without a swap). A job still notices a published rules version within about a
second: every RELOAD_CHECK_SECONDS it asks workers/context.py (which reads the version at most
once per FOLLOW_INTERVAL), and ends when the rules were reloaded, so its stream goes on in a
new job with the new rules.

A slice is only as fine as a batch: a stream with a slice shorter than the budget reads as many
entries as it evaluates in half its slice (its cost per entry, measured in this process), so a
burst of hundreds of order updates never holds a worker long past its turn. Ticker streams read
up to BATCH entries, as they did: with their batches bounded to 100 ms and no linger while the
system stream's job waited, make bench's 50,000 ticks/s phase fell seconds behind (the linger was
the one restored last and made it whole again; the bound alone was not measured apart).
"""

from __future__ import annotations

import time

from watcher import keys

BATCH = 1000  # the most entries one read takes
FIRST_BATCH = 100  # a stream's first read in this process, before its cost is known
MIN_COUNT = 10  # the fewest: each batch costs its round trips
BATCH_SECONDS = 0.1  # the most one batch should take, from which a read's count follows
SLICE_SECONDS = 0.05  # an account or system stream's turn while another stream's job waits
BUDGET_SECONDS = 30.0  # a job's turn while none waits (the worker's other queues aside)
MARKET_SLICE_SECONDS = 1.0  # a ticker stream's turn while another stream's job waits
# Any stream's turn while a notification's job waits (on a worker that delivers): long enough
# for the notify jobs of a burst's batches to queue up and run one after another, rather than
# each costing this stream a new job of its own (rq pickup and the lock: bench --orders' account
# stream, drained beside the notify queue, ran one job per batch); short beside a chat service.
DELIVERY_SLICE_SECONDS = 0.1
RELOAD_CHECK_SECONDS = 1.0  # how often a job asks whether the rules were reloaded
# On a worker of latency-tolerant queues (Context.latency_tolerant: the `accounts,notify`
# worker), an account's or the system stream's batch that found fewer entries than it asked
# waits until its oldest entry is this old, then takes what came meanwhile: an order's
# transitions and updates come a few ms apart, and every batch costs its round trips, its
# claims' script and one notify job per channel (rq: ~3 ms of CPU and ~60 Redis commands).
# bench --orders' notifier: 400 batches of 8.6 entries on average; 161-168 of 21 with the wait.
GATHER_SECONDS = 0.05
_WEIGHT = 0.3  # of a batch's measure in the running cost per entry


class Pace:
    """One evaluate job's clock: the count of its next read and whether its turn is over."""

    def __init__(
        self,
        stream: str,
        costs: dict[str, float],
        budget: float = BUDGET_SECONDS,
        slice_seconds: float | None = None,
        check_seconds: float | None = None,
        gathers: bool = False,
    ) -> None:
        self.stream = stream
        self.costs = costs  # seconds per entry, per stream (the worker's Context keeps them)
        if slice_seconds is None:
            slice_seconds = MARKET_SLICE_SECONDS if keys.is_ticks(stream) else SLICE_SECONDS
        self.slice_seconds = slice_seconds
        # A stream that hands over before the budget reads what it evaluates in half a slice,
        # so a batch ends its job soon after its turn; the others read up to BATCH entries
        # (smaller batches in a backlog cost ticker streams their catching up: make bench).
        self.bounded = slice_seconds < MARKET_SLICE_SECONDS
        self.batch_seconds = min(BATCH_SECONDS, slice_seconds / 2)
        # Whether a partial batch waits for more of its burst (GATHER_SECONDS): `gathers`, the
        # worker's jobs being latency-tolerant, and a stream that is not a ticker stream's.
        self.gathers = gathers and self.bounded
        self.started = time.monotonic()
        self.deadline = self.started + budget
        self.slice_end = self.started + min(budget, slice_seconds)
        self.others_wait = False  # as of the last batch: another stream's job is queued
        self.deliveries_wait = False  # as of the last batch: a notify job is queued
        self.check_seconds = RELOAD_CHECK_SECONDS if check_seconds is None else check_seconds
        self.checked = self.started

    def check_due(self) -> bool:
        """Whether it is time to ask if the rules were reloaded (True once per interval)."""
        now = time.monotonic()
        if now - self.checked < self.check_seconds:
            return False
        self.checked = now
        return True

    def count(self) -> int:
        """How many entries the next read asks for."""
        if not self.bounded:
            return BATCH
        cost = self.costs.get(self.stream)
        if cost is None:
            return FIRST_BATCH
        if cost <= 0:
            return BATCH
        return max(MIN_COUNT, min(BATCH, round(self.batch_seconds / cost)))

    def measured(self, entries: int, seconds: float) -> None:
        """Fold one batch's time into its stream's cost per entry."""
        if entries <= 0:
            return
        per_entry = seconds / entries
        cost = self.costs.get(self.stream)
        self.costs[self.stream] = per_entry if cost is None else cost + _WEIGHT * (per_entry - cost)

    def gather_seconds(self, oldest_ms: int) -> float:
        """How long a batch that found fewer entries than it asked waits for more before it is
        evaluated, its oldest entry added at `oldest_ms` (Redis's clock, from the entry's id):
        until that entry is GATHER_SECONDS old, and not at all while another stream's job
        waits (the next batch ends this job)."""
        if not self.gathers or self.others_wait:
            return 0.0
        return min(GATHER_SECONDS, max(0.0, oldest_ms / 1000 + GATHER_SECONDS - time.time()))

    def lingers(self) -> bool:
        """Whether a job that caught up waits a moment for news before it lets its stream go.

        Not a stream that hands over early while another stream's job waits: its worker is
        theirs. A ticker stream does linger: news is a few ms away, and without it (ending the
        job at every pause while the system stream's job waited) make bench's ticker streams
        fell seconds behind, restarting jobs that reload their state."""
        return not (self.bounded and self.others_wait)

    def over(self, others_wait: bool, deliveries_wait: bool = False) -> bool:
        """Record whether another stream's job waits, and a notify job; True when this job
        should hand over."""
        self.others_wait = others_wait
        self.deliveries_wait = deliveries_wait
        now = time.monotonic()
        if now >= self.deadline or (others_wait and now >= self.slice_end):
            return True
        return deliveries_wait and now >= self.started + DELIVERY_SLICE_SECONDS
