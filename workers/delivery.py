"""The delivery engine: every notification passes through its channel's outbox (workers/outbox.py).

submit_many() queues a batch's messages and sends what the channel allows now; flush() (an rq
job too, scheduled when the channel must wait) sends on until the outbox is empty or the channel
must wait again. Nothing sleeps: a wait is a flush job scheduled with rq's scheduler, which klaxon's
workers run (workers/service.py). Per send:

- success: the messages are marked delivered as they leave the outbox;
- 429: the channel is blocked for the service's retry-after; no attempt is counted;
- another failure: an attempt is counted and the channel backs off (BACKOFF_SECONDS); after the
  last one, or at once when the service refused for good, the messages become dead letters, the
  channel is dead for DEAD_FOR_SECONDS (each later send gets a single attempt until one
  succeeds), and each dead message goes to the channel's fallback, marked as such. A channel
  that was alive and now has dead letters is an event on the system stream (DeadLetterAlert),
  which `dead_letter:` rules route; later ones while it stays dead are not (no alert loops
  through a dead channel), only counted and listed.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue, Retry

from rules.base import Channel
from watcher import keys
from watcher.errors import ChannelRefused, ChannelThrottled, ConfigError, NotificationError
from watcher.events import DeadLetterAlert
from watcher.system import publish_system
from workers.digest import compose
from workers.notify import deliver
from workers.outbox import ALREADY_DEAD, ALREADY_SENT, Limits, Message, Outbox, Take
from workers.ratelimit import limits_of
from workers.state import Scripts

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (1, 5, 15, 60, 300)  # between attempts; then the message is a dead letter
DEAD_FOR_SECONDS = 600
MAX_DEAD_LETTERS = 10_000  # the oldest go beyond this
DIGEST_AFTER = 5  # messages sent alone per window before the rest are coalesced
DIGEST_WINDOW_SECONDS = 60
MAX_BATCH = 50  # messages one digest may take (fewer when their text does not fit)
DELIVERED_TTL = 7 * 86_400  # outlives every retry of a job, so a re-run never re-sends
LOCK_TTL_MS = 60_000  # longer than any one apprise send (its HTTP timeouts are a few seconds)
BUDGET_SECONDS = 1.0  # one job's share of a worker before the rest goes to a new flush job
SCHEDULE_GRACE_MS = 5_000  # a flush due this long ago and not run is presumed lost
BUSY_MARGIN_MS = 1_000
FLUSH_RETRY = Retry(max=3, interval=[1, 5, 30])
# After a send, how long to wait for a Redis that went away (restarting) to record it: giving
# up leaves the message in the outbox, and the next sender sends it again.
DONE_PATIENCE_SECONDS = 30.0
Channels = Mapping[str, Channel]


def submit_many(
    client: redis.Redis, channels: Channels, name: str, messages: Sequence[Message]
) -> list[str]:
    """Queue `messages` for channel `name` (one round trip) and send what its limits allow now
    (one sender); return each one's outcome, in order: "delivered", "queued", "dead letter" or
    "already delivered"."""
    answers = Outbox(client, name).add_many(messages)
    sender = _Sender(client, channels, name, None)
    if any(answer not in (ALREADY_SENT, ALREADY_DEAD) for answer in answers):
        # Queued now or by an earlier run of this job: either way, send what may go.
        sender.run()
    return [_outcome(m.id, answer, sender) for m, answer in zip(messages, answers, strict=True)]


def _outcome(message_id: str, answer: int, sender: _Sender) -> str:
    if answer == ALREADY_SENT:
        return "already delivered"
    if answer == ALREADY_DEAD:
        return "dead letter"
    if message_id in sender.sent:
        return "delivered"
    return "dead letter" if message_id in sender.died else "queued"


def flush(client: redis.Redis, channels: Channels, name: str, due: int | None) -> int:
    """Send what channel `name` may send now (the flush job due at `due`); return how many."""
    sender = _Sender(client, channels, name, due)
    sender.run()
    return len(sender.sent)


def schedule_flush(client: redis.Redis, name: str, due: int, wait_ms: int = 0) -> None:
    """Enqueue a flush job for channel `name`, to run in `wait_ms` (rounded up to a second)."""
    queue = Queue(keys.NOTIFY_QUEUE, connection=client)
    options: dict[str, Any] = {
        "job_id": keys.flush_job_id(name, uuid.uuid4().hex[:12]),
        "retry": FLUSH_RETRY,
        "result_ttl": 60,
        "failure_ttl": DELIVERED_TTL,
        "description": f"flush {name}",
    }
    if wait_ms <= 0:
        queue.enqueue(keys.FLUSH_JOB, name, due, **options)
        return
    # rq keeps schedules in whole seconds, truncated: round up, or it runs before it may send.
    at = math.ceil(time.time() + wait_ms / 1000)
    queue.enqueue_at(datetime.fromtimestamp(at, UTC), keys.FLUSH_JOB, name, due, **options)


def limits(channel: Channel | None) -> Limits:
    """Return a channel's rate limits and digest policy (an unknown channel has none)."""
    after = DIGEST_AFTER
    if channel is not None and channel.digest_after is not None:
        after = channel.digest_after
    rates = limits_of(channel) if channel is not None else ()
    return Limits(rates, after, DIGEST_WINDOW_SECONDS * 1000, MAX_BATCH)


class _Sender:
    """Sends one channel's outbox for one job: until empty, until it must wait, or its budget."""

    def __init__(self, client: redis.Redis, channels: Channels, name: str, due: int | None):
        self.client = client
        self.channels = channels
        self.name = name
        self.due = due
        self.channel = channels.get(name)
        self.box = Outbox(client, name)
        self.limits = limits(self.channel)
        self.token = uuid.uuid4().hex
        self.sent: set[str] = set()
        self.died: set[str] = set()

    def run(self) -> None:
        """Send until the outbox is empty or the channel must wait (then schedule a flush)."""
        deadline = time.monotonic() + BUDGET_SECONDS
        if self.due is not None:
            self.box.started(self.due)
        try:
            while True:
                take = self.box.take(self.token, self.limits, LOCK_TTL_MS)
                if take.outcome == "empty":
                    return
                if take.outcome == "wait":
                    self._schedule(take.wait_ms)
                    return
                if take.outcome == "busy":
                    # The holder sends on; this flush only matters should the holder die.
                    self._schedule(take.wait_ms + BUSY_MARGIN_MS)
                    return
                self._send(take)
                if time.monotonic() >= deadline:
                    self._release()
                    self._schedule(0)
                    return
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        lock = keys.channel_lock(self.name)
        Scripts.of(self.client).release(keys=[lock], args=[self.token], client=self.client)

    def _schedule(self, wait_ms: int) -> None:
        due = self.box.schedule(wait_ms, SCHEDULE_GRACE_MS)
        if due:
            schedule_flush(self.client, self.name, due, wait_ms)

    def _send(self, take: Take) -> None:
        if not take.messages:
            return
        if self.channel is None:
            unknown = ChannelRefused(f"unknown channel '{self.name}'")
            self._failed(take.messages, unknown, True, take.dead)
            return
        title, body, used = compose(take.messages)
        batch = take.messages[:used]
        try:
            deliver(self.channel.url, title, body, channel=self.name)
        except ChannelThrottled as e:
            log.warning("%s; sending nothing to it for %.0f s", e, e.retry_after)
            self.box.defer(max(1, math.ceil(e.retry_after * 1000)))
            self._count(keys.STAT_THROTTLED, 1)
        except (ChannelRefused, ConfigError) as e:
            self._failed(batch, e, True, take.dead)
        except NotificationError as e:
            self._failed(batch, e, False, take.dead)
        else:
            ids = [m.id for m in batch]
            self._done(ids)
            self.sent.update(ids)
            what = f"a digest of {used}" if used > 1 else f"firing {batch[0].firing}"
            log.info("%s delivered to channel '%s'", what, self.name)
            with self.client.pipeline(transaction=False) as pipe:
                pipe.hincrby(keys.STATS, keys.STAT_DELIVERED, used)
                if used > 1:
                    pipe.hincrby(keys.STATS, keys.STAT_DIGESTS, 1)
                pipe.execute()

    def _done(self, ids: list[str]) -> None:
        """Record `ids` as sent, waiting out a Redis restart (the send cannot be undone)."""
        deadline = time.monotonic() + DONE_PATIENCE_SECONDS
        while True:
            try:
                self.box.done(ids, DELIVERED_TTL)
                return
            except (redis.ConnectionError, redis.TimeoutError) as e:  # BusyLoadingError too
                if time.monotonic() >= deadline:
                    raise
                log.warning("channel '%s': sent, Redis away (%s): retrying", self.name, e)
                time.sleep(0.2)

    def _failed(
        self, batch: list[Message], error: Exception, permanent: bool, was_dead: bool
    ) -> None:
        """Count an attempt for `batch`; dead-letter and fall back what has no attempt left;
        report the channel's death when it was alive (`was_dead`: the send's take said)."""
        died = self.box.fail(
            [m.id for m in batch],
            type(error).__name__,
            permanent=permanent,
            backoff_ms=[s * 1000 for s in BACKOFF_SECONDS],
            dead_for_ms=DEAD_FOR_SECONDS * 1000,
            max_dead=MAX_DEAD_LETTERS,
        )
        # The error names the channel and the service's answer, never its URL (workers/notify).
        log.warning("%s (%d message(s), %d now dead letters)", error, len(batch), len(died))
        if not died:
            return
        self.died.update(i for i, _ in died)
        self._count(keys.STAT_DEAD_LETTERS, len(died))
        if not was_dead:
            first = Message.from_json(died[0][1]["message"])
            alert = DeadLetterAlert(
                channel=self.name,
                error=type(error).__name__,
                count=len(died),
                firing=first.firing,
                at=datetime.now(UTC),
            )
            publish_system(self.client, [alert], int(time.time() * 1000))
        self._fall_back([Message.from_json(record["message"]) for _, record in died])

    def _fall_back(self, dead: list[Message]) -> None:
        fallback = self.channel.fallback if self.channel is not None else None
        if fallback is None or fallback not in self.channels:
            return
        box = Outbox(self.client, fallback)
        moved = 0
        for message in dead:
            via = (*message.via, self.name)
            if fallback in via:
                continue  # fallbacks in a circle: each channel tried once
            rerouted = Message(
                keys.fallback_message_id(message.id, fallback),
                message.firing,
                message.title,
                message.body,
                via,
            )
            moved += box.add(rerouted) == 1
        if moved:
            log.warning("%d message(s) of dead channel '%s' go to '%s'", moved, self.name, fallback)
            _Sender(self.client, self.channels, fallback, None).run()

    def _count(self, field: str, n: int) -> None:
        self.client.hincrby(keys.STATS, field, n)
