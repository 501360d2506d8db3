"""Thin rq entry points. Job arguments are pickled into Redis: never a URL or a secret in them."""

from __future__ import annotations

import logging

import redis
from rq import get_current_job
from rq.job import Job

from workers import context, delivery, order_desk
from workers.delivery import submit_many
from workers.evaluate import evaluate_stream
from workers.order_place import attempt
from workers.outbox import Message

log = logging.getLogger(__name__)


def _job() -> Job:
    job = get_current_job()
    if job is None:
        raise RuntimeError("workers.jobs functions run inside an rq job")
    return job


def evaluate(stream: str) -> int:
    """Drain one stream's new events through the rules; return how many were evaluated."""
    connection: redis.Redis = _job().connection
    return evaluate_stream(connection, stream, context.current(connection))


def notify(channel: str, title: str, body: str, firing: str) -> str:
    """Deliver one firing's message, its id the job's, to one channel: notify_many() of one (a
    quiet-hours hold; jobs queued by older versions)."""
    return notify_many(channel, [(_job().id, title, body, firing)])[0]


def notify_many(channel: str, messages: list[tuple[str, str, str, str]]) -> list[str]:
    """Deliver one batch's messages to one channel (by name), each (id, title, body, firing),
    through the channel's outbox: at most once per message id; return their outcomes."""
    job = _job()
    batch = [Message(id=i, firing=f, title=title, body=body) for i, title, body, f in messages]
    channels = context.current(job.connection).ruleset.channels
    outcomes = submit_many(job.connection, channels, channel, batch)
    log.debug("%d firings for channel '%s': %s", len(batch), channel, outcomes)
    return outcomes


def flush(channel: str, due: int | None = None) -> int:
    """Send what a channel's outbox may send now (a scheduled flush); return how many."""
    job = _job()
    channels = context.current(job.connection).ruleset.channels
    return delivery.flush(job.connection, channels, channel, due)


def place(client_order_id: str, retry: int) -> None:
    """Try to place an emulated order's real order (queued, or a retry after the venue was
    unavailable): see workers/order_place.py."""
    attempt(_job().connection, order_desk.current(), client_order_id, retry)
