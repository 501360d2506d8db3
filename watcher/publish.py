"""Parsed frames -> Redis Streams, and one coalesced evaluation job per stream with news.

Per batch (one WebSocket read): one XADD per ticker partition touched (MAXLEN ~, market data may
be trimmed), one XADD per private event (never trimmed), and `SET dirty NX EX` per stream touched,
all in one pipeline round trip. Only a stream whose flag was newly set gets an rq job, enqueued in
a second round trip; the evaluator clears the flag before it drains, so no news is left unread.
Each entry records its publish time (field `t`, epoch ms) without a Redis call of its own.
"""

from __future__ import annotations

import time

import redis
from rq import Queue

from watcher import keys
from watcher.errors import ConfigError
from watcher.events import Event, Ticker, TickRow, encode_event, encode_ticks, tick_row
from watcher.venues import Parsed

EVALUATE_JOB = "workers.jobs.evaluate"  # a dotted path: the watcher never imports workers
DIRTY_TTL = 10  # seconds; an evaluator that died leaves the flag to expire, then kick() re-queues
JOB_TIMEOUT = 300
RESULT_TTL = 60
FAILURE_TTL = 86_400


class Publisher:
    """Writes one venue account's parsed frames to Redis and queues their evaluation."""

    def __init__(
        self, redis: redis.Redis, venue: str, account: str, partitions: int, maxlen: int = 100_000
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"partitions must be at least 1, got {partitions}")
        self.venue = venue
        self.account = account
        self.partitions = partitions
        self.maxlen = maxlen
        self.private_stream = keys.private_stream(venue, account)
        self.last_publish_ms: int | None = None
        self._redis = redis
        self._venue = venue.encode()
        self._queue = Queue(keys.EVALUATE_QUEUE, connection=redis)
        self._stream_of: dict[str, str] = {}  # market -> its partition's stream (crc32 once)

    def streams(self) -> list[str]:
        """Every stream this publisher writes: all ticker partitions and the private stream."""
        return [keys.ticks_stream(p) for p in range(self.partitions)] + [self.private_stream]

    def publish(self, parsed_batch: list[Parsed]) -> None:
        """Write one read's worth of parsed frames and queue evaluation where news is unflagged."""
        ticks: dict[str, list[TickRow]] = {}
        events: list[Event] = []
        for parsed in parsed_batch:
            for row in parsed.ticks:
                self._ticks_of(ticks, row[0]).append(row)
            for event in parsed.events:
                if isinstance(event, Ticker):
                    self._ticks_of(ticks, event.market).append(tick_row(event))
                else:
                    events.append(event)
        if not ticks and not events:
            return
        now_ms = int(time.time() * 1000)
        stamp = str(now_ms).encode()
        pipe = self._redis.pipeline(transaction=False)
        for stream, rows in ticks.items():
            fields = {b"k": b"ticks", b"v": self._venue, b"d": encode_ticks(rows), b"t": stamp}
            pipe.xadd(stream, fields, maxlen=self.maxlen, approximate=True)  # type: ignore[arg-type]
        for event in events:
            fields = {b"k": event.kind.encode(), b"d": encode_event(event), b"t": stamp}
            pipe.xadd(self.private_stream, fields)  # type: ignore[arg-type]
        touched = [*ticks, self.private_stream] if events else list(ticks)
        for stream in touched:
            pipe.set(keys.dirty(stream), 1, nx=True, ex=DIRTY_TTL)
        flags = pipe.execute()[-len(touched) :]
        self.last_publish_ms = now_ms
        self._enqueue([stream for stream, fresh in zip(touched, flags, strict=True) if fresh])

    def count_malformed(self, feed: str) -> None:
        """Count one skipped frame of `feed` in the stats hash."""
        self._redis.hincrby(keys.STATS, f"malformed:{self.venue}:{feed}", 1)

    def ensure_groups(self) -> None:
        """Create the evaluators' consumer group on every stream this publisher writes."""
        pipe = self._redis.pipeline(transaction=False)
        for stream in self.streams():
            pipe.xgroup_create(stream, keys.GROUP, id="$", mkstream=True)
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, redis.ResponseError) and "BUSYGROUP" not in str(result):
                raise result

    def kick(self) -> None:
        """Flag and queue every stream not already flagged, so leftovers of a dead job get read."""
        streams = self.streams()
        pipe = self._redis.pipeline(transaction=False)
        for stream in streams:
            pipe.set(keys.dirty(stream), 1, nx=True, ex=DIRTY_TTL)
        flags = pipe.execute()
        self._enqueue([stream for stream, fresh in zip(streams, flags, strict=True) if fresh])

    def _ticks_of(self, ticks: dict[str, list[TickRow]], market: str) -> list[TickRow]:
        stream = self._stream_of.get(market)
        if stream is None:
            stream = keys.ticks_stream(keys.partition(self.venue, market, self.partitions))
            self._stream_of[market] = stream
        rows = ticks.get(stream)
        if rows is None:
            rows = ticks[stream] = []
        return rows

    def _enqueue(self, streams: list[str]) -> None:
        if not streams:
            return
        jobs = [
            Queue.prepare_data(
                EVALUATE_JOB,
                args=(stream,),
                timeout=JOB_TIMEOUT,
                result_ttl=RESULT_TTL,
                failure_ttl=FAILURE_TTL,
            )
            for stream in streams
        ]
        pipe = self._redis.pipeline()
        self._queue.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
