"""Run an rq worker for klaxon: evaluate jobs first, then notify jobs, no fork per job.

The worker is rq's SimpleWorker (jobs run in the worker's own process: ~3 ms pickup instead of
~12 ms for a fork). `work(with_scheduler=True)` makes rq run its scheduler, which moves retried
notifications back to their queue when their Retry interval is up: in a long-running worker it
is ONE forked child for the worker's lifetime (never one per job); in burst mode rq does not
fork at all, it enqueues the retries already due once, when the burst starts. Tests that want a
scheduled retry to run now move it to now (ScheduledJobRegistry.schedule) and run a burst.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import redis
from rq.timeouts import TimerDeathPenalty
from rq.worker import DequeueStrategy, SimpleWorker

from rules.load import RuleSet
from watcher import heap, keys
from watcher.errors import ConfigError
from workers import context
from workers.notify import check_channels, silence_url_loggers

log = logging.getLogger(__name__)

# In priority order: the ticker streams' evaluations, queued orders, the private and system
# streams' evaluations (keys.evaluate_queue), notifications.
QUEUES = (keys.EVALUATE_QUEUE, keys.ORDERS_QUEUE, keys.ACCOUNTS_QUEUE, keys.NOTIFY_QUEUE)
# rq's maintenance (every 10 min by default) is what takes over the scheduler of a worker that
# was killed (its retries and flushes wait until then) and re-queues the job it held (a
# notification not yet in its outbox): between two jobs, at most this often.
MAINTENANCE_SECONDS = 10


class KlaxonWorker(SimpleWorker):
    """rq's non-forking worker, also usable from a non-main thread (tests run several)."""

    # One "Result is kept for N seconds" line per job is noise at hundreds of jobs/s.
    log_result_lifespan = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not _main_thread():
            # SIGALRM-based job timeouts only work in the main thread.
            self.death_penalty_class = TimerDeathPenalty
        super().__init__(*args, **kwargs)

    def unsubscribe(self) -> None:
        """Stop listening for rq commands, without waiting out rq's 1 s join timeout."""
        # rq sends UNSUBSCRIBE, then trips the listener's flag: when the reply wins that race
        # the listener re-enters a 60 s read and rq's join(timeout=1) stalls every teardown.
        # Tripping the flag first lets the reply end the listener's loop at once.
        listener, pubsub = self.pubsub_thread, self.pubsub
        if listener:
            listener.stop()
        try:
            super().unsubscribe()  # type: ignore[no-untyped-call]
        except redis.ConnectionError:
            if listener is None or pubsub is None:
                raise
            # The listener, its flag tripped, may have read a message (which one is not known;
            # in a burst worker, perhaps its own subscription's confirmation, read late) and
            # closed the connection under our UNSUBSCRIBE, which ends the subscription as well.
            # Finish what rq's teardown would have.
            log.debug("%s: the rq command listener closed its connection first", self.name)
            listener.join(timeout=1)
            pubsub.close()

    def _install_signal_handlers(self) -> None:
        # signal.signal() raises outside the main thread; there, stop() ends the worker instead.
        if _main_thread():
            super()._install_signal_handlers()  # type: ignore[no-untyped-call]


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def load(
    rules: RuleSet | Sequence[Path],
    rule_paths: Sequence[Path] | None = None,
    venues: Collection[str] | None = None,
) -> context.Context:
    """Install a RuleSet, or load rule files; files given are reloaded when a new rules
    version is published in Redis (see workers.context).

    With a RuleSet and `rule_paths` (the files it was loaded from) the RuleSet is used as is
    and the files are followed. Files are loaded on the configured `venues` (see load_rules).
    Channels apprise cannot use are refused (ConfigError).
    """
    silence_url_loggers()
    if not isinstance(rules, RuleSet):
        # Refuses channels apprise cannot use, as every reload does.
        return context.follow(rules, venues=venues)
    errors = check_channels(rules)
    if errors:
        raise ConfigError(errors[0], errors=errors)
    if rule_paths:
        return context.follow(rule_paths, loaded=rules, venues=venues)
    return context.install(rules)


def make_worker(
    connection: redis.Redis, name: str | None = None, queues: Sequence[str] = QUEUES
) -> KlaxonWorker:
    """Build the worker over the evaluate and/or notify queues (rules must be loaded first)."""
    unknown = set(queues) - set(QUEUES)
    if unknown or not queues:
        raise ConfigError(f"queues must be among {', '.join(QUEUES)}; got {', '.join(queues)}")
    context.current().evaluates = tuple(
        q for q in (keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE) if q in queues
    )
    context.current().delivers = keys.NOTIFY_QUEUE in queues
    context.current().places = keys.ORDERS_QUEUE in queues
    return KlaxonWorker(
        list(queues), connection=connection, name=name, maintenance_interval=MAINTENANCE_SECONDS
    )


def run_worker(
    redis_url: str,
    rules: RuleSet | Sequence[Path],
    burst: bool = False,
    name: str | None = None,
    *,
    rule_paths: Sequence[Path] | None = None,
    queues: Sequence[str] = QUEUES,
    venues: Collection[str] | None = None,
    settle: bool = False,
) -> None:
    """Load the rules (see load()), then work the queues until SIGTERM/SIGINT, or until they
    are empty when `burst`. A worker given only the evaluate queue never waits on a channel;
    one given only the notify queue delivers what the evaluators decide. With `settle` (a
    worker process of its own, not a test's thread) the heap is frozen once the rules are
    loaded, and after each reload (watcher/heap.py)."""
    load(rules, rule_paths, venues)
    if settle:
        heap.enable()
    connection = redis.Redis.from_url(redis_url)
    try:
        # Round robin between the queues: under sustained load the evaluate queue is never
        # empty, and strict priority would starve the notifications.
        make_worker(connection, name, queues).work(
            burst=burst, with_scheduler=True, dequeue_strategy=DequeueStrategy.ROUND_ROBIN
        )
    finally:
        connection.close()
