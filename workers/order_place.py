"""Placing an emulated order's one real order, and following what became of it.

An attempt runs on a TRIGGERED record (workers/order_state.py), under a short lease so two
workers never send it at once: the account's key must allow trading, the order must pass the
risk limits (once), then place_order with the record's client order id (a close_position
order sized first by the venue's position: workers/order_close.py). The venue's answer
moves the state: accepted -> PLACED; OrderRejected -> REJECTED (notified, never retried; but
first the order is looked up by client id: a "duplicate" means it was placed); OutcomeUnknown
(a timeout or 5xx after sending) -> the order is looked up by client id before it is ever sent
again; ExchangeUnavailable -> retried later, with backoff, while the trigger still holds
(after the last retry: EXPIRED). Later updates of the real order (its fills, a cancel) move it
on: apply().

Inline, a batch's new orders are attempted on a worker's sender threads (workers/order_send.py).
A worker that dies while sending may leave no batch to redeliver, so each such record is
created with its guard, a check scheduled for when the attempt's lease runs out (guard()),
taken away once the attempt has ended.

KLAXON_TEST_KILL_AT (tests only) SIGKILLs the worker at a control point: "before_place" (the
record TRIGGERED, nothing sent) or "after_place" (sent, the venue's answer not yet saved).
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final

import redis
from redis.client import Pipeline
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from rules.actions import Limits, OrderSpec
from rules.base import text
from watcher import keys
from watcher.errors import (
    ConfigError,
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
)
from watcher.events import OrderState, OrderUpdate
from watcher.venues import Trading, http
from workers import order_state, risk
from workers.order_close import Unsized, closing_size
from workers.order_desk import Desk
from workers.state import Scripts

log = logging.getLogger(__name__)

KILL_AT: Final = "KLAXON_TEST_KILL_AT"
# Seconds before each retry while the venue is unavailable; after the last: EXPIRED.
RETRY_SECONDS: Final = (1, 2, 5, 10, 30, 60, 120, 300)
LEASE_MS: Final = 15_000  # without a desk; else Desk.lease_ms
# The real order's canonical states (watcher.events.OrderState: every venue's words are mapped
# to them at the edge) and what each makes of its record.
LIVE: Final[frozenset[OrderState]] = frozenset(
    {"live", "partially_filled", "effective", "partially_effective", "triggered"}
)
CANCELED: Final[frozenset[OrderState]] = frozenset({"canceled", "mmp_canceled", "expired"})
FAILED: Final[frozenset[OrderState]] = frozenset({"order_failed", "rejected"})


def attempt(
    client: redis.Redis,
    desk: Desk | None,
    cid: str,
    retry: int = 0,
    created: dict[str, str] | None = None,
    token: str = "",
    guarded: bool = False,
) -> None:
    """Try to place the real order of the TRIGGERED record `cid` (`retry`: how many attempts
    came before; `created`: the record, when the caller just created it holding its lease with
    `token`); schedule the next attempt if the venue is unavailable. `guarded`: the record has
    a guard (guard()), taken away once this attempt has ended (unless it failed: the guard
    then checks the record), or replaced by the retry it schedules."""
    lease = keys.order_lease(cid)
    held = bool(token)
    token = token or uuid.uuid4().hex
    if not held and not client.set(lease, token, nx=True, px=lease_ms(desk)):
        # Another worker is on it; should it die on it, this check finishes the job.
        left = int(client.pttl(lease))
        record = created or order_state.load(client, cid)
        if record.get("state", "triggered") == "triggered":
            _schedule(client, record, retry + 1, max(left, 100) / 1000, token[:8])
        return
    release, replaced = True, False
    ending = _Unguard(cid) if guarded else None
    try:
        record = created or order_state.load(client, cid)
        if record.get("state") == "triggered":
            delay = _attempt(client, desk, record, retry, ending)
            if delay is not None:
                _schedule(client, record, retry + 1, delay)
                replaced = retry == 0  # attempt 1 has the guard's job id
            else:
                # The record moved on (placed, rejected, ...): every later attempt ends at its
                # state, so the lease may run out rather than cost a round trip now.
                release = False
    finally:
        if release:
            Scripts.of(client).release(keys=[lease], args=[token])
    if ending is not None and not replaced and not ending.queued:
        unguard(client, cid)  # the attempt has ended: nothing is left to check


def guard(client: redis.Redis, pipe: Pipeline, cid: str, at_ms: int) -> None:
    """Queue into `pipe` the check of a record created TRIGGERED at once, due when its first
    attempt's lease has run out: attempt 1, which looks the order up by client id before it
    ever sends it. The first attempt takes it away when it ends with the record moved on, or
    replaces it with its own retry (the same job id); only a worker that died while sending
    (after its batch was acked, so no redelivery) leaves it to run."""
    _queue_attempt(client, cid, 1, datetime.fromtimestamp(at_ms / 1000, UTC), pipe=pipe)


def unguard(client: redis.Redis, cid: str) -> None:
    """Take away the guard of the record `cid` (its attempt has ended)."""
    with client.pipeline(transaction=False) as pipe:
        _queue_unguard(pipe, cid)
        pipe.execute()


def _queue_unguard(pipe: Pipeline, cid: str) -> None:
    job_id = keys.place_job_id(cid, 1)
    registry = ScheduledJobRegistry(keys.ORDERS_QUEUE, connection=pipe)  # type: ignore[no-untyped-call]
    registry.remove(job_id, pipeline=pipe)
    pipe.delete(Job.key_for(job_id))


class _Unguard:
    """Takes away a record's guard in the round trip of the move that ends its attempt (the
    usual end: the order placed), instead of a round trip after it."""

    def __init__(self, cid: str) -> None:
        self.cid = cid
        self.queued = False

    def __call__(self, pipe: Pipeline) -> None:
        _queue_unguard(pipe, self.cid)
        self.queued = True


class _Sent:
    """Records when the order's request left (`_sent_ms`, read by bench --orders: where an
    order's latency ends), and takes away its guard (`ending`), in the round trip of the move
    that records it PLACED; whichever step moves it, the time is written."""

    def __init__(self, cid: str, before: int, ending: _Unguard | None) -> None:
        self.cid = cid
        self.sent = http.sent_ms()
        self.sent = 0 if self.sent == before else self.sent  # not this request's (a proxy)
        self.ending = ending

    def __call__(self, pipe: Pipeline) -> None:
        if self.sent:
            pipe.hset(keys.emulated(self.cid), "_sent_ms", str(self.sent))
        if self.ending is not None:
            self.ending(pipe)


def lease_ms(desk: Desk | None) -> int:
    """Return how long one attempt may hold an order."""
    return desk.lease_ms if desk is not None else LEASE_MS


def _attempt(
    client: redis.Redis,
    desk: Desk | None,
    record: dict[str, str],
    retry: int,
    ending: _Unguard | None = None,
) -> float | None:
    """Return None when the record moved on, or the seconds to wait before trying again."""
    venue, account, cid = record["venue"], record["account"], record["client_order_id"]
    trader = desk.trader(venue, account) if desk is not None else None
    if desk is None or trader is None:
        _reject(client, record, "account", f"no REST client for {venue}/{account} in this worker")
        return None
    if retry or record.get("_unknown"):
        # A previous attempt may have been carried out: never send twice.
        try:
            found = trader.order_by_client_id(record["market"], cid)
        except ExchangeUnavailable as exc:
            return _backoff(retry, exc)
        except RequestRejected as exc:
            _reject(client, record, exc.code, f"looking the order up: {exc.message}")
            return None
        if found is not None:
            apply(client, record, found)
            return None
        order_state.update(client, cid, {"_unknown": ""})
    refused = desk.refused(client, venue, account)
    if refused is not None:
        _reject(client, record, "key", refused)
        return None
    if retry and not holds(client, record):
        return RETRY_SECONDS[min(retry, len(RETRY_SECONDS) - 1)]  # wait
    if record.get("close_position") == "true":
        try:
            size = closing_size(trader, venue, record["market"], record["side"])
        except ExchangeUnavailable as exc:
            return _backoff(retry, exc)
        except Unsized as exc:
            _reject(client, record, exc.code, exc.reason)
            return None
        record["size"] = text(size)
        order_state.update(client, cid, {"size": record["size"]})
    spec = spec_of(record)
    if record.get("_risk") != "ok":
        limits = limits_of(record.get("_limits", ""))
        fired_at = Decimal(record["fired_at"])
        why = risk.refusal(client, desk.risk, limits, spec, fired_at, record["_rule_id"], cid)
        if why is not None:
            _reject(client, record, "risk", why)
            return None
        record["_risk"] = "ok"  # saved with the next attempt, if there is one
    delay = _send(client, trader, record, spec, retry, ending)
    if delay is not None:
        order_state.update(client, cid, {"_risk": "ok"})
    return delay


def _send(
    client: redis.Redis,
    trader: Trading,
    record: dict[str, str],
    spec: OrderSpec,
    retry: int,
    ending: _Unguard | None,
) -> float | None:
    cid = record["client_order_id"]
    _kill_point("before_place")
    before = http.sent_ms()
    try:
        order_id = trader.place_order(
            spec.market, spec.side, spec.ord_type, text(spec.size),
            text(spec.price) if spec.price is not None else None,
            client_order_id=cid, reduce_only=spec.reduce_only,
        )  # fmt: skip
    except OutcomeUnknown as exc:
        order_state.update(client, cid, {"_unknown": "1"})
        log.warning("order %s: the venue's answer is unknown (%s): looking it up next", cid, exc)
        return _backoff(retry, exc)
    except ExchangeUnavailable as exc:
        log.warning("order %s: the venue is unavailable (%s): retrying", cid, exc)
        return _backoff(retry, exc)
    except OrderRejected as exc:
        if _placed_after_all(client, trader, record):
            return None
        _reject(
            client, record, exc.code + (f"_{exc.sub_code}" if exc.sub_code else ""), exc.message
        )
        return None
    except RequestRejected as exc:
        _reject(client, record, exc.code, exc.message)
        return None
    except ConfigError as exc:  # a venue that cannot trade at all (its client refuses)
        _reject(client, record, "config", str(exc))
        return None
    _kill_point("after_place")
    placed = {"order_id": order_id}
    order_state.move(
        client, record, ("triggered",), "placed", placed, also=_Sent(cid, before, ending)
    )
    log.info(
        "order %s placed: %s %s %s (order %s)",
        cid,
        spec.side,
        text(spec.size),
        spec.market,
        order_id,
    )
    return None


def _placed_after_all(client: redis.Redis, trader: Trading, record: dict[str, str]) -> bool:
    """After a refusal: whether an order with our client id exists (a "duplicate" refusal of
    an order an earlier, unanswered attempt placed); it then moves the record on."""
    try:
        found = trader.order_by_client_id(record["market"], record["client_order_id"])
    except (ExchangeUnavailable, RequestRejected):
        return False
    if found is None:
        return False
    apply(client, record, found)
    return True


def apply(client: redis.Redis, record: dict[str, str], update: OrderUpdate) -> None:
    """Move a record after an update of its real order (pushed, or looked up)."""
    order_state.run(client, steps(record, update))


def steps(
    record: dict[str, str], update: OrderUpdate
) -> list[order_state.Move | order_state.Update]:
    """Return what an update of its real order does to a record, in order (for
    order_state.run, which can carry out many updates' steps at once)."""
    cid = record["client_order_id"]
    placed = {"order_id": update.order_id}
    done: list[order_state.Move | order_state.Update] = []
    if update.state in LIVE or update.state == "filled":
        done.append(order_state.Move(record, ("triggered",), "placed", placed))
    filled = {
        "filled": text(update.filled),
        "avg_price": text(update.avg_price) if update.avg_price is not None else "",
    }
    if update.state == "filled":
        done.append(order_state.Move(record, ("placed",), "filled", placed | filled))
    elif update.state in CANCELED:
        why = {"code": update.code or update.state, "reason": update.message or "on the venue"}
        done.append(
            order_state.Move(record, ("triggered", "placed"), "canceled", placed | filled | why)
        )
    elif update.state in FAILED:
        why = {"code": update.code or "failed", "reason": update.message}
        done.append(order_state.Move(record, ("triggered", "placed"), "rejected", placed | why))
    elif update.state in LIVE and update.filled:
        done.append(order_state.Update(cid, filled))  # a partial fill: no transition
    return done


def holds(client: redis.Redis, record: dict[str, str]) -> bool:
    """Return whether the trigger still holds at the last price evaluated (True if unknown)."""
    op, _, level = record.get("_holds", "").partition(":")
    field = keys.last_price_field(record["venue"], record["market"], record.get("source", "last"))
    raw = client.hget(keys.last_prices(record.get("_stream", "")), field)
    if not op or raw is None:
        return True
    try:
        price, bound = Decimal(raw.decode()), Decimal(level)  # type: ignore[union-attr]
    except (InvalidOperation, AttributeError):
        return True
    return price <= bound if op == "le" else price >= bound


def spec_of(record: dict[str, str]) -> OrderSpec:
    """Return the real order a record describes."""
    price = record.get("price") or None
    return OrderSpec(
        venue=record["venue"], account=record["account"], market=record["market"],
        side="buy" if record["side"] == "buy" else "sell", size=Decimal(record["size"]),
        ord_type=record["ord_type"], price=Decimal(price) if price else None,
        reduce_only=record.get("reduce_only") == "true",
        close_position=record.get("close_position") == "true",
    )  # fmt: skip


def limits_text(limits: Limits) -> str:
    """Return a rule's limits as a record keeps them: "max_size|max_notional|per_minute"."""
    parts = (limits.max_size, limits.max_notional, limits.per_minute)
    return "|".join(
        "" if p is None else text(p) if isinstance(p, Decimal) else str(p) for p in parts
    )


def limits_of(raw: str) -> Limits:
    """Return the limits of limits_text()."""
    size, notional, per_minute = [*raw.split("|"), "", "", ""][:3]
    return Limits(
        Decimal(size) if size else None,
        Decimal(notional) if notional else None,
        int(per_minute) if per_minute else None,
    )


def _reject(client: redis.Redis, record: dict[str, str], code: str, reason: str) -> None:
    cid = record["client_order_id"]
    log.warning("order %s (rule %s) rejected: %s %s", cid, record.get("rule"), code, reason)
    fields = {"code": code, "reason": reason}
    order_state.move(client, record, ("triggered",), "rejected", fields)


def _backoff(retry: int, exc: ExchangeUnavailable) -> float:
    delay = RETRY_SECONDS[min(retry, len(RETRY_SECONDS) - 1)]
    return max(delay, exc.retry_after or 0.0)


def _schedule(
    client: redis.Redis, record: dict[str, str], retry: int, delay: float, token: str = ""
) -> None:
    """Queue attempt `retry` after `delay` seconds, or give up (EXPIRED) past the last."""
    cid = record["client_order_id"]
    if retry > len(RETRY_SECONDS):
        fields = {"code": "unavailable", "reason": f"the venue stayed unavailable ({retry} tries)"}
        order_state.move(client, record, ("triggered",), "expired", fields)
        return
    _queue_attempt(client, cid, retry, datetime.now(UTC) + timedelta(seconds=delay), token)


def _queue_attempt(
    client: redis.Redis,
    cid: str,
    retry: int,
    due: datetime,
    token: str = "",
    pipe: Pipeline | None = None,
) -> None:
    """Queue attempt `retry` of `cid` for `due` (into `pipe` if given)."""
    Queue(keys.ORDERS_QUEUE, connection=client).enqueue_at(
        due, keys.PLACE_JOB, cid, retry, job_id=keys.place_job_id(cid, retry, token),
        description=f"place {cid} (retry {retry})", pipeline=pipe,
    )  # fmt: skip


def _kill_point(name: str) -> None:
    if os.environ.get(KILL_AT) == name:
        os.kill(os.getpid(), signal.SIGKILL)
