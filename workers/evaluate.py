"""Drain one stream under its lock: decode, evaluate the rules, claim firings, act, ack.

One evaluator holds a stream at a time (keys.lock), which keeps events in order and lets the
previous price per series live in memory while draining. Per batch there is one XREADGROUP,
one Lua call for all the batch's claims (only when something fired: in its round trip, the
Early actions' scripts, workers/actions.py claim()) and one MULTI pipeline that carries the won
claims' actions (workers/actions.py: the notify jobs), saves the last prices
and the stateful kinds' state (rules/kinds.py KindState, loaded with the lock) and XACKs: a
killed evaluator leaves either all of a batch's effects or none, and its batch stays pending
for the next holder, whose re-evaluation finds the same firing ids (claim answer REDELIVERED)
and completes what is missing.

A drain starts from the stream's state: the last prices, the stateful kinds' KindStates and the
matchers bound to them. The lock's round trip also GETs the stream's state token, which every
batch's MULTI sets to a value of its own (SET ... GET): when it is the one this worker's last
drain of the stream saved, and the rules are the same, the worker's kept state is used and
nothing is loaded or bound; otherwise the state is loaded from Redis as it was saved
(workers/holding.py). What makes that safe, and what drops the kept state (a failed batch or
MULTI, a lost lock, another writer's save): workers/held.py.

The dirty flag (keys.dirty) says "this stream has news a job will read": whoever sets it fresh
(SET NX) enqueues the stream's job, and it stays set while that job waits and drains, so news
meanwhile enqueues nothing more. The job clears it only when it finds the stream empty, in the
round trip of one more read, and looks at it again after releasing the lock. How long a job
keeps its worker and how much one read takes: workers/pace.py.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from typing import Any

import redis
from redis.client import Pipeline

from watcher import keys
from watcher.publish import DIRTY_TTL, queue_evaluations
from workers import order_orphans
from workers.actions import act, claim
from workers.context import Context, superseded
from workers.firings import Batch
from workers.held import Held
from workers.holding import acquire, load_state
from workers.pace import BUDGET_SECONDS, Pace
from workers.state import (
    ClaimResult,
    Scripts,
    StreamLock,
    save_kind_state,
    save_last_prices,
    text_of,
)
from workers.waiting import CHECK_SECONDS, waiting

log = logging.getLogger(__name__)

# An active stream is read once more, blocking this long, before the job lets go of it (see
# Pace.lingers): a new job costs rq ~3-5 ms of pickup and the stream's state, while the next
# watcher batch is usually a few ms away.
LINGER_MS = 25
Entry = tuple[bytes, dict[bytes, bytes] | None]


def evaluate_stream(
    client: redis.Redis,
    stream: str,
    context: Context,
    budget: float = BUDGET_SECONDS,
    slice_seconds: float | None = None,
) -> int:
    """Drain `stream` and return how many events were evaluated (0 if another holds it).

    After its turn (workers/pace.py: its slice, the stream kind's unless `slice_seconds`, while
    another stream's job waits; `budget` seconds otherwise) the job hands the rest to a new
    evaluate job at the back of the queue, so a stream that never goes quiet holds a worker
    neither forever nor while others wait.
    """
    scripts = Scripts.of(client)
    pace = Pace(stream, context.costs, budget, slice_seconds, gathers=context.latency_tolerant())
    total = 0
    while True:
        lock = StreamLock(client, scripts, stream)
        taken, kept, token, loaded = acquire(client, stream, context, lock)
        if not taken:
            # The holder re-checks the dirty flag after releasing: it will see our news.
            return total
        released = False
        try:
            held = load_state(client, stream, context, kept, token, loaded)
            drain = _Drain(client, scripts, stream, context, lock, held, pace)
            total += drain.run()
        except BaseException:
            # A failed job (a bug, rq's timeout) must not leave the flag set with no job behind
            # it: cleared, the next news enqueues the job that reads this one's pending batch.
            with contextlib.suppress(redis.RedisError):
                client.delete(keys.dirty(stream))
            raise
        finally:
            released = bool(lock.release())
        if released and drain.kept():
            context.streams.keep(stream, held)  # workers/held.py: why this is safe
        if drain.out_of_time:
            _continue_later(client, stream)
            return total
        # A job that found the lock taken returned without touching the flag: look again.
        if not client.exists(keys.dirty(stream)):
            return total
        if pace.over(pace.others_wait, pace.deliveries_wait):
            _continue_later(client, stream)
            return total


def _continue_later(client: redis.Redis, stream: str) -> None:
    # Always a new job, whatever the dirty flag says: the job that set it may already have
    # run (and found the lock taken), so the flag alone cannot promise a next evaluation. The
    # flag is set again (its TTL restarts): the new job is the stream's one job.
    with client.pipeline() as pipe:
        pipe.set(keys.dirty(stream), 1, ex=DIRTY_TTL)
        queue_evaluations(client, pipe, [stream])
        pipe.execute()


class _Drain:
    """One holding of a stream's lock: reads, evaluates and acks until the stream is empty."""

    def __init__(
        self,
        client: redis.Redis,
        scripts: Scripts,
        stream: str,
        context: Context,
        lock: StreamLock,
        held: Held,
        pace: Pace,
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.stream = stream
        self.context = context
        self.lock = lock
        self.renewed = time.monotonic()
        self.held = True
        self.pace = pace
        self.asked = pace.count()  # the count of the last read
        self.out_of_time = False
        # The stream's state (workers/held.py): the last prices, each stateful kind's state and
        # the matchers bound to it, changed by each batch and saved in its MULTI.
        self.state = held
        self.states = held.states
        self.dispatch = held.bound
        self.last = held.last
        # Whether every save found the token it expected (no other writer in between).
        self.alone = True
        # Counters of the batches' enqueued jobs not yet saved (_count_enqueued).
        self.counted: Counter[str] = Counter()
        # Whether another stream's job waits (workers/waiting.py), and when that was asked.
        self.others = False
        self.others_asked = -CHECK_SECONDS

    def kept(self) -> bool:
        """Whether the worker may keep this drain's state for the stream's next job: it ended
        holding the lock, and its every save found its own token before it (workers/held.py)."""
        return self.held and self.alone and self.state.token is not None

    def run(self) -> int:
        """Drain pending entries (a dead holder's), then new ones; return events evaluated."""
        count = self._run()
        if self.counted:  # the last batch's counters (_count_enqueued)
            with self.client.pipeline(transaction=False) as pipe:
                self._save_counted(pipe)
                pipe.execute()
        return count

    def _run(self) -> int:
        pending, fresh = self._start()
        full = len(pending) >= self.asked
        count = self._drain(pending, "0")
        if self.out_of_time or not self.held:
            return count  # `fresh` is pending now: the next holder reads it first
        if full:
            # `fresh` went to our pending list behind older entries, and the "0" reads
            # above processed it in order; continue with what is newer still.
            fresh = self._read(">")
        return count + self._drain(fresh, ">")

    def _drain(self, entries: list[Entry], cursor: str) -> int:
        count = 0
        while self.held:
            if not entries:
                if cursor != ">":
                    break
                entries = self._settle()
                if not entries:
                    break
            if self.pace.gathers and cursor == ">" and len(entries) < self.asked:
                entries += self._gather(entries)
            count += self._batch(entries)
            if self.out_of_time:
                break
            if len(entries) >= self.asked:
                entries = self._read(cursor)
            elif cursor != ">":
                break
            else:
                # Lingering saves a job when news is imminent (not while another stream's job
                # waits for a stream that hands over early: let the empty stream go now).
                wait = LINGER_MS if self.pace.lingers() else None
                entries = self._read(cursor, block_ms=wait)
        return count

    def _start(self) -> tuple[list[Entry], list[Entry]]:
        """Read pending and new entries, in one round trip."""
        for attempt in (1, 2):
            with self.client.pipeline(transaction=False) as pipe:
                self._queue_read(pipe, "0")
                self._queue_read(pipe, ">")
                pending, fresh = pipe.execute(raise_on_error=False)
            if _is_nogroup(pending) and attempt == 1:
                self._create_group()
                continue
            return _entries(_raise(pending)), _entries(_raise(fresh))
        raise AssertionError("unreachable")  # pragma: no cover

    def _settle(self) -> list[Entry]:
        """The stream looked empty: clear the dirty flag and read once more, in one round trip.

        News after the read sets the flag fresh, so its writer enqueues a job (which may find
        this lock taken: evaluate_stream looks at the flag again after releasing it)."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.delete(keys.dirty(self.stream))
            self._queue_read(pipe, ">")
            _, fresh = pipe.execute()
        return _entries(fresh)

    def _gather(self, entries: list[Entry]) -> list[Entry]:
        """Wait for more of the burst that `entries` began (Pace.gather_seconds, from the first
        entry's id), then read what came, up to the count asked less `entries`."""
        wait = self.pace.gather_seconds(int(entries[0][0].split(b"-")[0]))
        if wait <= 0:
            return []
        time.sleep(wait)
        return self._read(">", count=self.asked - len(entries))

    def _read(
        self, cursor: str, block_ms: int | None = None, count: int | None = None
    ) -> list[Entry]:
        """Read up to `count` entries (the pace's count, which becomes the count asked)."""
        if count is None:
            self.asked = count = self.pace.count()
        try:
            return _entries(self._xreadgroup(self.client, cursor, block_ms, count))
        except redis.ResponseError as e:
            if not _is_nogroup(e):
                raise
            self._create_group()
            return _entries(self._xreadgroup(self.client, cursor, block_ms, count))

    def _queue_read(self, pipe: Pipeline, cursor: str) -> None:
        self._xreadgroup(pipe, cursor, None, self.asked)

    def _xreadgroup(
        self, target: redis.Redis | Pipeline, cursor: str, block_ms: int | None, count: int
    ) -> Any:
        return target.xreadgroup(
            keys.GROUP, keys.CONSUMER, {self.stream: cursor}, count=count, block=block_ms
        )

    def _create_group(self) -> None:
        try:
            self.client.xgroup_create(self.stream, keys.GROUP, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def _renew_if_due(self) -> None:
        # Renewing every third of the TTL (not every batch) keeps Lua out of the batch
        # pipeline, where redis-py would add a SCRIPT EXISTS round trip per execute.
        now = time.monotonic()
        if now - self.renewed >= self.lock.ttl_ms / 3000:
            self.held = bool(self.lock.renew())
            self.renewed = now
            if not self.held:
                log.warning("%s: lost the evaluator lock; stopping after this batch", self.stream)

    def _batch(self, entries: list[Entry]) -> int:
        """Evaluate, claim, act, persist and ack one batch; return events evaluated."""
        self._renew_if_due()
        began = time.monotonic()
        batch = self._evaluate(entries)
        claimed = claim(self.client, self.scripts, batch.firings)
        results = claimed.results
        claimed_ms = int(time.time() * 1000)
        with self.client.pipeline() as pipe:
            jobs = act(self.client, pipe, batch.firings, claimed)
            if batch.orphans:  # events of emulated orders whose rule a reload took away
                channels = self.context.ruleset.channels
                jobs += order_orphans.stage(self.client, pipe, self.stream, batch.orphans, channels)
            saved_at, token = len(pipe), self.context.streams.token()
            pipe.set(keys.state_token(self.stream), token, get=True)
            evaluations, waits = self._persist_and_ack(pipe, batch, claimed_ms)
            replies = pipe.execute()
        before = replies[saved_at]
        if (None if before is None else text_of(before)) != self.state.token:
            self.alone = False  # another writer saved since this drain's load or last save
        self.state.token = token
        self.pace.measured(len(entries), time.monotonic() - began)
        lengths = replies[len(replies) - evaluations - len(waits) :]
        others = any(lengths[:evaluations]) and self._others_wait()
        waiting = {queue for queue, n in zip(waits, lengths[evaluations:], strict=True) if n}
        if keys.ORDERS_QUEUE in waiting or self.pace.over(others, keys.NOTIFY_QUEUE in waiting):
            # Hand the worker over: with round robin the next job is a queued order (at once),
            # the notifications (after DELIVERY_SLICE_SECONDS of this job, workers/pace.py) or
            # another stream's evaluation, and this stream goes on in a new job. Without it each
            # waits out a full budget: one job of theirs per evaluate job.
            self.out_of_time = True
        elif self.pace.check_due() and superseded(self.context, self.client):
            self.out_of_time = True  # new rules: the stream goes on in a job that binds them
        if jobs:
            self._count_enqueued(batch, results)
        # Only now that the batch's effects are stored may the local caches skip work.
        self.context.remember(batch.firings, results)
        return batch.evaluated

    def _others_wait(self) -> bool:
        """An evaluate queue is not empty: whether one of its jobs is of a stream nobody drains
        (asked at most every CHECK_SECONDS)."""
        now = time.monotonic()
        if now - self.others_asked >= CHECK_SECONDS:
            self.others_asked = now
            self.others = waiting(self.client, self.context.evaluates)
        return self.others

    def _evaluate(self, entries: list[Entry]) -> Batch:
        """Decode and match every entry of the batch (no Redis)."""
        batch = Batch(self.stream, self.context, self.last, self.dispatch)
        for entry_id, fields in entries:
            batch.ids.append(entry_id)
            if fields:
                batch.entry(entry_id.decode(), fields)
        return batch

    def _persist_and_ack(
        self, pipe: Pipeline, batch: Batch, claimed_ms: int
    ) -> tuple[int, list[str]]:
        """Queue the last prices, the stateful kinds' changes, the counters and the XACK into
        the batch's MULTI pipeline, then the lengths of the evaluation queues this worker
        serves (other streams' jobs) and of each other queue it serves (the notify queue when
        it delivers, the orders queue when it places); return how many of the first, and the
        names of the others, in that order."""
        decided = self.context.latency.record([claimed_ms - ms for ms in batch.tick_ms])
        save_last_prices(pipe, self.stream, batch.changed)
        for kind, state in self.states.items():
            save_kind_state(pipe, self.stream, kind, state)
        if batch.undecodable:
            pipe.hincrby(keys.STATS, keys.STAT_UNDECODABLE, batch.undecodable)
        for field, n in decided.items():
            pipe.hincrby(keys.STATS, field, n)
        self._save_counted(pipe)
        pipe.xack(self.stream, keys.GROUP, *batch.ids)
        for queue in self.context.evaluates:
            pipe.llen(keys.rq_queue(queue))
        waits = []
        for serves, queue in (
            (self.context.delivers, keys.NOTIFY_QUEUE),
            (self.context.places, keys.ORDERS_QUEUE),
        ):
            if serves:
                pipe.llen(keys.rq_queue(queue))
                waits.append(queue)
        return len(self.context.evaluates), waits

    def _count_enqueued(self, batch: Batch, results: list[ClaimResult]) -> None:
        """Count exchange time -> jobs stored for the firings that acted; the counters are
        saved with the next batch (or when the drain ends), not in a round trip of their own:
        the stream's next ticks would wait for it."""
        enqueued_ms = int(time.time() * 1000)
        fired = [f.at_ms for f, r in zip(batch.firings, results, strict=True) if r.status]
        for field, n in self.context.enqueued.record([enqueued_ms - ms for ms in fired]).items():
            self.counted[field] += n

    def _save_counted(self, pipe: Pipeline) -> None:
        for field, n in self.counted.items():
            pipe.hincrby(keys.STATS, field, n)
        self.counted.clear()


def _entries(response: Any) -> list[Entry]:
    """Return the entries of a one-stream XREADGROUP answer."""
    if not response:
        return []
    return list(response[0][1])


def _is_nogroup(value: object) -> bool:
    return isinstance(value, redis.ResponseError) and "NOGROUP" in str(value)


def _raise(value: Any) -> Any:
    if isinstance(value, Exception):
        raise value
    return value
