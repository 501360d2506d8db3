"""What a won claim does: each action a rule declares (rules/actions.py) has its handler here.

The evaluator claims a batch's firings (claim()) and hands the won claims over (act()) without
knowing what their actions are. An Early handler starts in the claims' round trip, each of its
scripts checking that its firing holds the claim (an emulated order's record: its REST call
goes one round trip sooner). Each handler queues its effects into the batch's MULTI pipeline,
beside the XACK, so a killed evaluator leaves all of a batch's effects or none (an Early
part's scripts are idempotent), and the next holder, finding its claims REDELIVERED, completes
what is missing. Notify -> one rq notify job per channel; the emulated
orders' actions (PlaceOrder, TrackOrder, ArmBracket) -> workers/orders.py, ExpireOrder ->
workers/order_expire.py. Every rq job these handlers enqueue has its policy (function, queue,
retries, TTLs) in one JobPolicy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

import redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.job import Job

from rules.actions import Action, ArmBracket, ExpireOrder, Notify, PlaceOrder, TrackOrder
from watcher import keys
from workers.firings import Firing
from workers.state import (
    NEW,
    REDELIVERED,
    ClaimResult,
    Scripts,
    claim_firings,
    claim_results,
    queue_claims,
    run_pipelined,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobPolicy:
    """How rq runs one kind of job: its function, its queue, its retries, how long it stays."""

    func: str  # dotted path of the job function
    queue: str
    retry_intervals: tuple[int, ...] = ()  # seconds before each retry; () = never retried
    failure_ttl: int | None = None  # seconds a failed job (a dead letter) is kept

    def retry(self) -> Retry | None:
        """Return rq's Retry for this policy (None: never retried)."""
        if not self.retry_intervals:
            return None
        return Retry(max=len(self.retry_intervals), interval=list(self.retry_intervals))

    def prepare(self, args: tuple[Any, ...], job_id: str, description: str) -> Any:
        """Return rq's EnqueueData of one job under this policy (for Queue.enqueue_many)."""
        return Queue.prepare_data(
            self.func,
            args=args,
            job_id=job_id,
            retry=self.retry(),
            failure_ttl=self.failure_ttl,
            description=description,
        )

    def schedule(
        self,
        client: redis.Redis,
        pipe: Pipeline,
        at_ms: int,
        args: tuple[Any, ...],
        job_id: str,
        description: str,
    ) -> None:
        """Queue into `pipe` one job under this policy, run by rq's scheduler at `at_ms`."""
        queue = Queue(self.queue, connection=client)
        queue.enqueue_at(
            datetime.fromtimestamp(at_ms / 1000, UTC),
            self.func,
            *args,
            job_id=job_id,
            retry=self.retry(),
            failure_ttl=self.failure_ttl,
            description=description,
            pipeline=pipe,
        )


NOTIFY = JobPolicy(
    func=keys.NOTIFY_JOB,
    queue=keys.NOTIFY_QUEUE,
    retry_intervals=(1, 5, 15, 60, 300),
    failure_ttl=7 * 86_400,  # a dead letter stays a week (rq's default is a year)
)
# A batch's messages for one channel, in one job: rq spends ~3 ms of a worker's CPU and ~60
# Redis commands on every job it runs, whatever the job does.
NOTIFY_MANY = JobPolicy(
    func=keys.NOTIFY_MANY_JOB,
    queue=NOTIFY.queue,
    retry_intervals=NOTIFY.retry_intervals,
    failure_ttl=NOTIFY.failure_ttl,
)


@dataclass(frozen=True, slots=True)
class Won:
    """One action of a firing whose claim this evaluator holds (redelivered: held before);
    `ahead`: what its handler's part in the claim's round trip came to (Early), if it has one."""

    firing: Firing
    action: Action
    redelivered: bool
    ahead: Any = None


A = TypeVar("A", bound=Action)


def handed(handler: object, won: Sequence[Won], kind: type[A]) -> list[tuple[Won, A]]:
    """Return each of `won` with its action, a `kind` (TypeError: a handler handed another)."""
    pairs: list[tuple[Won, A]] = []
    for w in won:
        if not isinstance(w.action, kind):
            raise TypeError(f"{type(handler).__name__} handed a {type(w.action).__name__}")
        pairs.append((w, w.action))
    return pairs


class Handler(Protocol):
    """Carries out one type of declared action for a batch's won claims."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Queue the effects of `won` into `pipe` (the batch's MULTI, executed with its XACK);
        return how many jobs were queued. `client` serves reads needed first (e.g. what a
        redelivered firing already did)."""
        ...


class Ahead(Protocol):
    """An Early handler's part of one batch, run in the round trip of the batch's claims, after
    them: every effect of it checks in its script that its firing holds the firing's claim, so
    a firing that lost its claim changes nothing."""

    def queue(self, pipe: Pipeline, loaded: bool) -> int:
        """Queue the commands into `pipe` (scripts: workers.state.queue_script); return how
        many. Called again, with loaded False, when the server lacked a script."""
        ...

    def answers(self, replies: Sequence[Any]) -> list[Any]:
        """Return one answer per (firing, action) it was made for, in order, from the replies
        of its commands (which Won.ahead carries to stage())."""
        ...


@runtime_checkable
class Early(Protocol):
    """A handler whose effects start in the claim's round trip (one round trip sooner: an
    emulated order's record, before its REST call)."""

    def ahead(self, client: redis.Redis, pairs: Sequence[tuple[Firing, Action]]) -> Ahead:
        """Return the part of these (firing, action)s to run with their claims."""
        ...


class NotifyJobs:
    """Notify: one message per (firing, channel), its id derived from both (the outbox takes an
    id once: workers/outbox.py); one rq job per channel carries a batch's messages. In the
    rule's quiet hours (Notify.quiet) a message's own job is scheduled for their end."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Queue the messages of new firings, and of redelivered ones not yet queued."""
        notifies = handed(self, won, Notify)
        wanted = [(w, n, keys.notify_job_id(w.firing.firing, n.channel)) for w, n in notifies]
        known = known_jobs(client, [job_id for w, _, job_id in wanted if w.redelivered])
        now_ms = int(time.time() * 1000)
        batches: dict[str, list[tuple[str, str, str, str]]] = {}
        held = 0
        for w, notify, job_id in wanted:
            if job_id in known:
                continue
            channel, firing = notify.channel, w.firing
            quiet = notify.quiet
            until = quiet.until(now_ms) if quiet is not None else None
            if quiet is None or until is None:
                batches.setdefault(channel, []).append(
                    (job_id, notify_title(firing.rule.name), firing.body, firing.firing)
                )
                continue
            args, description = notify_args(channel, firing.rule.name, firing.body, firing.firing)
            NOTIFY.schedule(client, pipe, until, args, job_id, description)
            held += 1
            log.info(
                "quiet hours (%s): %s to %s is held until %s",
                quiet.text(),
                w.firing.firing,
                channel,
                datetime.fromtimestamp(until / 1000, UTC).isoformat(timespec="seconds"),
            )
        jobs = [
            NOTIFY_MANY.prepare(
                (channel, messages),
                keys.notify_many_job_id([m[0] for m in messages]),
                f"notify {channel}: {messages[0][3]}"
                + (f" and {len(messages) - 1} more" if len(messages) > 1 else ""),
            )
            for channel, messages in batches.items()
        ]
        if jobs:
            Queue(NOTIFY.queue, connection=client).enqueue_many(jobs, pipeline=pipe)
        return len(jobs) + held


def known_jobs(client: redis.Redis, job_ids: Sequence[str]) -> set[str]:
    """Return those of `job_ids` queued or delivered already, in one round trip (none: none)."""
    if not job_ids:
        return set()
    with client.pipeline(transaction=False) as reads:
        for job_id in job_ids:
            reads.exists(Job.key_for(job_id), keys.delivered(job_id))
        return {j for j, n in zip(job_ids, reads.execute(), strict=True) if n}


def notify_title(rule: str) -> str:
    """Return the title of the messages of `rule`'s firings."""
    return f"klaxon: {rule}"


def notify_args(channel: str, rule: str, body: str, firing: str) -> tuple[tuple[str, ...], str]:
    """Return the arguments and the description of the notify job of a firing of `rule`."""
    return (channel, notify_title(rule), body, firing), f"notify {channel}: {firing}"


# The emulated orders' handlers use this module's JobPolicy and Won: imported below them.
from workers.order_expire import ExpireOrders  # noqa: E402
from workers.orders import ArmBrackets, PlaceOrders, TrackOrders  # noqa: E402

HANDLERS: Mapping[type[Action], Handler] = MappingProxyType(
    {
        Notify: NotifyJobs(),
        PlaceOrder: PlaceOrders(),
        ExpireOrder: ExpireOrders(),
        TrackOrder: TrackOrders(),
        ArmBracket: ArmBrackets(),
    }
)


# The action types whose handlers are Early (asked once: a Protocol's isinstance is slow).
EARLY: frozenset[type[Action]] = frozenset(k for k, h in HANDLERS.items() if isinstance(h, Early))


@dataclass(frozen=True)
class Claimed:
    """A batch's claims' answers, in order, and the Early handlers' answers, by (firing, action)
    index."""

    results: list[ClaimResult]
    ahead: dict[tuple[int, int], Any]


def claim(client: redis.Redis, scripts: Scripts, firings: Sequence[Firing]) -> Claimed:
    """Claim every firing of a batch in one Lua call, and run the Early handlers' parts after it
    in the same round trip."""
    if not firings:
        return Claimed([], {})
    slots: dict[type[Action], list[tuple[int, int]]] = {}
    for i, f in enumerate(firings):
        for j, action in enumerate(f.actions):
            if type(action) in EARLY:
                slots.setdefault(type(action), []).append((i, j))
    parts = []
    for kind, kind_slots in slots.items():
        handler = cast(Early, HANDLERS[kind])
        pairs = [(firings[i], firings[i].actions[j]) for i, j in kind_slots]
        parts.append((handler.ahead(client, pairs), kind_slots))
    requests = [f.claim for f in firings]
    if not parts:
        return Claimed(claim_firings(client, scripts, requests), {})
    sizes: list[int] = []

    def queue(pipe: Pipeline, loaded: bool) -> None:
        queue_claims(pipe, scripts, requests, loaded)
        sizes[:] = [part.queue(pipe, loaded) for part, _ in parts]

    replies = run_pipelined(client, queue)
    ahead: dict[tuple[int, int], Any] = {}
    at = 1
    for (part, kind_slots), size in zip(parts, sizes, strict=True):
        ahead.update(zip(kind_slots, part.answers(replies[at : at + size]), strict=True))
        at += size
    return Claimed(claim_results(replies[0]), ahead)


def act(client: redis.Redis, pipe: Pipeline, firings: Sequence[Firing], claimed: Claimed) -> int:
    """Hand every won claim's declared actions to their handlers; return the jobs queued."""
    by_type: dict[type[Action], list[Won]] = {}
    for i, (f, r) in enumerate(zip(firings, claimed.results, strict=True)):
        if r.status in (NEW, REDELIVERED):
            redelivered = r.status == REDELIVERED
            for j, action in enumerate(f.actions):
                won = Won(f, action, redelivered, claimed.ahead.get((i, j)))
                by_type.setdefault(type(action), []).append(won)
    return sum(HANDLERS[kind].stage(client, pipe, won) for kind, won in by_type.items())
