"""Parsed frames -> Redis Streams, and one coalesced evaluation job per stream with news.

Per batch (one WebSocket read), in one round trip (watcher.roundtrip): one XADD per partition
touched (MAXLEN ~, market data may be trimmed), one XADD per private event (never trimmed),
HINCRBY of the stats counters `ticks_in` (tick rows written) and `events_in` (private-stream
events offered), and `SET dirty NX EX` per stream touched. A fill or an order state is written
at most once: a script adds it to the account's keys.seen() set and XADDs it only if it was not
there (the live push and a reconnect's REST backfill can both carry it); a repeat is counted in
`duplicates_dropped`. Only a stream whose flag was newly set gets an rq job, enqueued in a
second round trip; the flag stays set while that job waits and drains (news meanwhile enqueues
nothing), and the evaluator clears it only together with a last read that finds the stream
empty, so no news is left unread (workers/evaluate.py). Each entry records its publish time
(field `t`, epoch ms) without a Redis call of its own. A row or event that does not encode (the
venues' checks should let none through) is dropped, logged and counted
(keys.stat_unpublishable), and the rest of the batch is written: a poisoned batch never blocks
a stream.
"""

from __future__ import annotations

import hashlib
import logging
import time

import redis
from redis.client import Pipeline
from rq import Queue
from rq.queue import EnqueueData

from watcher import keys
from watcher.errors import ConfigError, sample
from watcher.events import (
    Event,
    Fill,
    OrderUpdate,
    Ticker,
    TickRow,
    encode_event,
    encode_ticks,
    tick_row,
)
from watcher.roundtrip import Command, round_trip
from watcher.venues import Parsed

log = logging.getLogger(__name__)

DIRTY_TTL = 10  # seconds; an evaluator that died leaves the flag to expire, then kick() re-queues
JOB_TIMEOUT = 300
RESULT_TTL = 60
FAILURE_TTL = 86_400
# How long a published fill or order state is remembered: longer than any backfill reaches back.
SEEN_TTL_MS = 4 * 86_400 * 1000
# KEYS: seen set, private stream, stats. ARGV: now ms, member, oldest score kept, TTL ms, the
# duplicates field, then the entry's field/value pairs. Check and write are one step.
_ONCE = b"""
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2]) == 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
  return false
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 6))
"""


def seen_member(event: Event) -> str | None:
    """Return what identifies a fill (its trade) or an order state (all of it, `late` aside) in
    keys.seen(); None for the other events, which are written every time."""
    if isinstance(event, Fill):
        return keys.seen_fill(event.market, event.trade_id)
    if isinstance(event, OrderUpdate):
        state = event.model_dump_json(exclude={"late"}).encode()
        digest = hashlib.sha1(state, usedforsecurity=False).hexdigest()[:20]
        return keys.seen_order(event.order_id, digest)
    return None


def enqueue_evaluations(client: redis.Redis, streams: list[str]) -> None:
    """Queue one rq `evaluate(stream)` job per stream, in one round trip (the only enqueuer).

    Callers enqueue a stream only when they set its dirty flag fresh (or hold it: an evaluate
    job handing over to the next), so a queued job is a stream waiting for a worker."""
    if not streams:
        return
    pipe = client.pipeline()
    queue_evaluations(client, pipe, streams)
    pipe.execute()


def queue_evaluations(client: redis.Redis, pipe: Pipeline, streams: list[str]) -> None:
    """Queue into `pipe` the commands that enqueue one `evaluate(stream)` job per stream, each
    in its stream's queue (keys.evaluate_queue)."""
    by_queue: dict[str, list[EnqueueData]] = {}
    for stream in streams:
        job = Queue.prepare_data(
            keys.EVALUATE_JOB,
            args=(stream,),
            job_id=keys.evaluate_job_id(stream),
            timeout=JOB_TIMEOUT,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
        )
        by_queue.setdefault(keys.evaluate_queue(stream), []).append(job)
    for queue, jobs in by_queue.items():
        Queue(queue, connection=client).enqueue_many(jobs, pipeline=pipe)


def kick(client: redis.Redis, streams: list[str]) -> None:
    """Flag and queue each of `streams` not already flagged (a dead job's leftovers get read)."""
    pipe = client.pipeline(transaction=False)
    for stream in streams:
        pipe.set(keys.dirty(stream), 1, nx=True, ex=DIRTY_TTL)
    flags = pipe.execute()
    enqueue_evaluations(
        client, [stream for stream, fresh in zip(streams, flags, strict=True) if fresh]
    )


class Publisher:
    """Writes one venue account's parsed frames to Redis and queues their evaluation."""

    # Redis is away or cannot write for now: the Stream keeps the batch and offers it again.
    transient: tuple[type[Exception], ...] = (
        redis.ConnectionError,  # BusyLoadingError too
        redis.TimeoutError,
        redis.exceptions.OutOfMemoryError,
        redis.exceptions.ReadOnlyError,  # a replica promoted mid-write
        OSError,
    )

    def __init__(
        self, redis: redis.Redis, venue: str, account: str, partitions: int, maxlen: int = 100_000
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"partitions must be at least 1, got {partitions}")
        self.venue = venue
        self.account = account
        self.partitions = partitions
        self.maxlen = maxlen
        self.redis = redis
        self.private_stream = keys.private_stream(venue, account)
        self.seen = keys.seen(venue, account)
        self.last_publish_ms: int | None = None
        self._venue = venue.encode()
        self._stream_of: dict[str, str] = {}  # market -> its partition's stream (crc32 once)

    def streams(self) -> list[str]:
        """Every stream this publisher writes: all ticker partitions and the private stream."""
        return [keys.ticks_stream(p) for p in range(self.partitions)] + [self.private_stream]

    def publish(self, parsed_batch: list[Parsed]) -> None:
        """Write one read's worth of parsed frames and queue evaluation where news is unflagged."""
        ticks: dict[str, list[TickRow]] = {}
        events: list[Event] = []
        stream_of = self._stream_of
        for parsed in parsed_batch:  # the hot loop: thousands of rows per call, kept inline
            for row in parsed.ticks:
                stream = stream_of.get(row[0]) or self._stream_for(row[0])
                rows = ticks.get(stream)
                if rows is None:
                    ticks[stream] = [row]
                else:
                    rows.append(row)
            for event in parsed.events:
                if isinstance(event, Ticker):
                    stream = self._stream_for(event.market)
                    ticks.setdefault(stream, []).append(tick_row(event))
                else:
                    events.append(event)
        if not ticks and not events:
            return
        now_ms = int(time.time() * 1000)
        stamp = str(now_ms).encode()
        commands: list[Command] = []
        tick_count = dropped = 0
        touched: list[str] = []
        for stream, rows in ticks.items():
            try:
                data = encode_ticks(rows)
            except TypeError:  # orjson's JSONEncodeError: a row no venue check refused
                rows, data = self._encodable(rows)
                dropped += len(ticks[stream]) - len(rows)
                if not rows:
                    continue
            tick_count += len(rows)
            touched.append(stream)
            commands.append(
                (b"XADD", stream, b"MAXLEN", b"~", self.maxlen, b"*", b"k", b"ticks",
                 b"v", self._venue, b"d", data, b"t", stamp)
            )  # fmt: skip
        written = 0
        for event in events:
            try:
                data = encode_event(event)
            except ValueError as exc:  # pydantic's PydanticSerializationError (a lone surrogate)
                log.warning("%s: dropped a %s event that does not encode: %s", self.venue,
                            event.kind, sample(str(exc)))  # fmt: skip
                dropped += 1
                continue
            written += 1
            member = seen_member(event)
            if member is None:
                commands.append(
                    (b"XADD", self.private_stream, b"*", b"k", event.kind.encode(),
                     b"d", data, b"t", stamp)
                )  # fmt: skip
            else:
                commands.append(
                    (b"EVAL", _ONCE, 3, self.seen, self.private_stream, keys.STATS,
                     now_ms, member, now_ms - SEEN_TTL_MS, SEEN_TTL_MS, keys.STAT_DUPLICATES,
                     b"k", event.kind.encode(), b"d", data, b"t", stamp)
                )  # fmt: skip
        if tick_count:
            commands.append((b"HINCRBY", keys.STATS, keys.STAT_TICKS_IN, tick_count))
        if written:
            commands.append((b"HINCRBY", keys.STATS, keys.STAT_EVENTS_IN, written))
            touched.append(self.private_stream)
        if dropped:
            commands.append((b"HINCRBY", keys.STATS, keys.stat_unpublishable(self.venue), dropped))
        if not touched:
            round_trip(self.redis, commands)  # only the count of what was dropped
            return
        for stream in touched:
            commands.append((b"SET", keys.dirty(stream), b"1", b"NX", b"EX", DIRTY_TTL))
        flags = round_trip(self.redis, commands)[-len(touched) :]
        self.last_publish_ms = now_ms
        self._enqueue([s for s, flag in zip(touched, flags, strict=True) if flag is not None])

    def _encodable(self, rows: list[TickRow]) -> tuple[list[TickRow], bytes]:
        """Return the rows that encode one by one, and their encoding; log what is dropped."""
        kept: list[TickRow] = []
        for row in rows:
            try:
                encode_ticks([row])
            except TypeError as exc:
                log.warning("%s: dropped a tick row that does not encode (%s)", self.venue, exc)
            else:
                kept.append(row)
        return kept, encode_ticks(kept)

    def count_malformed(self, feed: str) -> None:
        """Count one skipped frame of `feed` in the stats hash."""
        self.redis.hincrby(keys.STATS, keys.stat_malformed(self.venue, feed), 1)

    def ensure_groups(self) -> None:
        """Create the evaluators' consumer group on every stream this publisher writes."""
        pipe = self.redis.pipeline(transaction=False)
        for stream in self.streams():
            pipe.xgroup_create(stream, keys.GROUP, id="$", mkstream=True)
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, redis.ResponseError) and "BUSYGROUP" not in str(result):
                raise result

    def kick(self) -> None:
        """Flag and queue every stream not already flagged, so leftovers of a dead job get read."""
        kick(self.redis, self.streams())

    def _stream_for(self, market: str) -> str:
        """Return the ticker stream of a market's partition (crc32 once per market)."""
        stream = self._stream_of.get(market)
        if stream is None:
            stream = keys.ticks_stream(keys.partition(self.venue, market, self.partitions))
            self._stream_of[market] = stream
        return stream

    def _enqueue(self, streams: list[str]) -> None:
        enqueue_evaluations(self.redis, streams)
