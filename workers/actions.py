"""What a won claim does: each action a rule declares (rules/actions.py) has its handler here.

The evaluator hands a batch's won claims over (act()) without knowing what their actions are;
each handler queues its effects into the batch's MULTI pipeline, beside the XACK, so a killed
evaluator leaves all of a batch's effects or none, and the next holder, finding its claims
REDELIVERED, completes what is missing. Notify -> one rq notify job per channel; the emulated
orders' actions (PlaceOrder, TrackOrder, ArmBracket) -> workers/orders.py. Every rq job these
handlers enqueue has its policy (function, queue, retries, TTLs) in one JobPolicy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

import redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.job import Job

from rules.actions import Action, ArmBracket, Notify, PlaceOrder, TrackOrder
from watcher import keys
from workers.firings import Firing
from workers.state import NEW, REDELIVERED, ClaimResult


@dataclass(frozen=True)
class JobPolicy:
    """How rq runs one kind of job: its function, its queue, its retries, how long it stays."""

    func: str  # dotted path of the job function
    queue: str
    retry_intervals: tuple[int, ...] = ()  # seconds before each retry; () = never retried
    failure_ttl: int | None = None  # seconds a failed job (a dead letter) is kept

    def prepare(self, args: tuple[Any, ...], job_id: str, description: str) -> Any:
        """Return rq's EnqueueData of one job under this policy (for Queue.enqueue_many)."""
        retry = None
        if self.retry_intervals:
            retry = Retry(max=len(self.retry_intervals), interval=list(self.retry_intervals))
        return Queue.prepare_data(
            self.func,
            args=args,
            job_id=job_id,
            retry=retry,
            failure_ttl=self.failure_ttl,
            description=description,
        )


NOTIFY = JobPolicy(
    func=keys.NOTIFY_JOB,
    queue=keys.NOTIFY_QUEUE,
    retry_intervals=(1, 5, 15, 60, 300),
    failure_ttl=7 * 86_400,  # a dead letter stays a week (rq's default is a year)
)


@dataclass(frozen=True, slots=True)
class Won:
    """One action of a firing whose claim this evaluator holds (redelivered: held before)."""

    firing: Firing
    action: Action
    redelivered: bool


class Handler(Protocol):
    """Carries out one type of declared action for a batch's won claims."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Queue the effects of `won` into `pipe` (the batch's MULTI, executed with its XACK);
        return how many jobs were queued. `client` serves reads needed first (e.g. what a
        redelivered firing already did)."""
        ...


class NotifyJobs:
    """Notify: one rq job per (firing, channel), its id derived from both (idempotent)."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Queue the notify jobs of new firings, and of redelivered ones not yet queued."""
        channels = [(w, _channel(w.action)) for w in won]
        wanted = [(w, c, keys.notify_job_id(w.firing.firing, c)) for w, c in channels]
        checks = [job_id for w, _, job_id in wanted if w.redelivered]
        known: set[str] = set()
        if checks:
            with client.pipeline(transaction=False) as reads:
                for job_id in checks:
                    reads.exists(Job.key_for(job_id), keys.delivered(job_id))
                known = {j for j, n in zip(checks, reads.execute(), strict=True) if n}
        jobs = [
            NOTIFY.prepare(
                (channel, f"klaxon: {w.firing.rule.name}", w.firing.body, w.firing.firing),
                job_id,
                f"notify {channel}: {w.firing.firing}",
            )
            for w, channel, job_id in wanted
            if job_id not in known
        ]
        if jobs:
            Queue(NOTIFY.queue, connection=client).enqueue_many(jobs, pipeline=pipe)
        return len(jobs)


def _channel(action: Action) -> str:
    if not isinstance(action, Notify):
        raise TypeError(f"NotifyJobs handed a {type(action).__name__}")
    return action.channel


# The emulated orders' handlers use this module's JobPolicy and Won: imported below them.
from workers.orders import ArmBrackets, PlaceOrders, TrackOrders  # noqa: E402

HANDLERS: Mapping[type[Action], Handler] = MappingProxyType(
    {
        Notify: NotifyJobs(),
        PlaceOrder: PlaceOrders(),
        TrackOrder: TrackOrders(),
        ArmBracket: ArmBrackets(),
    }
)


def act(
    client: redis.Redis, pipe: Pipeline, firings: Sequence[Firing], results: Sequence[ClaimResult]
) -> int:
    """Hand every won claim's declared actions to their handlers; return the jobs queued."""
    by_type: dict[type[Action], list[Won]] = {}
    for f, r in zip(firings, results, strict=True):
        if r.status in (NEW, REDELIVERED):
            redelivered = r.status == REDELIVERED
            for action in f.actions:
                by_type.setdefault(type(action), []).append(Won(f, action, redelivered))
    return sum(HANDLERS[kind].stage(client, pipe, won) for kind, won in by_type.items())
