"""Thin rq entry points. Job arguments are pickled into Redis: never a URL or a secret in them."""

from __future__ import annotations

import logging

import redis
from rq import get_current_job
from rq.job import Job

from watcher import keys
from watcher.errors import ConfigError, NotificationError
from workers import context
from workers.evaluate import evaluate_stream
from workers.notify import deliver

log = logging.getLogger(__name__)

DELIVERED_TTL = 7 * 86_400  # outlives every retry of the job, so a re-run never re-sends


def _job() -> Job:
    job = get_current_job()
    if job is None:
        raise RuntimeError("workers.jobs functions run inside an rq job")
    return job


def evaluate(stream: str) -> int:
    """Drain one stream's new events through the rules; return how many were evaluated."""
    connection: redis.Redis = _job().connection
    return evaluate_stream(connection, stream, context.current())


def notify(channel: str, title: str, body: str, firing: str) -> str:
    """Deliver one firing's message to one channel (by name); at most once per job id."""
    job = _job()
    connection: redis.Redis = job.connection
    marker = keys.delivered(job.id)
    if connection.exists(marker):
        return "already delivered"
    found = context.current().ruleset.channels.get(channel)
    if found is None:
        raise NotificationError(f"unknown channel '{channel}' (firing {firing})")
    try:
        deliver(found.url, title, body, channel=channel)
    except ConfigError:
        # A URL apprise cannot use will not get better by retrying: dead-letter at once.
        job.retries_left = 0
        raise
    connection.set(marker, 1, ex=DELIVERED_TTL)
    log.info("firing %s delivered to channel '%s'", firing, channel)
    return "delivered"
