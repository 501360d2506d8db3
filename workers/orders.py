"""Emulated orders' actions (rules/actions.py), handled for the evaluator (workers/actions.py):

- PlaceOrder: an order rule's trigger held. The record of its one real order is created
  TRIGGERED under the arming's guard (workers/order_state.py: exactly one order per arming,
  client order id derived from the firing), then the order is sent at once from the
  evaluating worker's sender threads, the stream's evaluation going on after a few ms even if
  the venue has not answered (inline: the default, for latency), or by a job on the orders
  queue (KLAXON_ORDERS_INLINE false); see workers/order_place.py. A redelivered firing finds
  its record and only finishes what is missing (looking the order up by client id first).
- TrackOrder: an update of a real order came on the private stream: its record moves on.
- ArmBracket: a bracket's entry filled: its exits are armed (or grown) in Redis and announced
  to the market's ticker stream (an OrderArming entry) and to the account's (ARMED).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
from redis.client import Pipeline
from rq import Queue

from rules.actions import Action, ArmBracket, OrderSpec, PlaceOrder, TrackOrder
from rules.base import text
from rules.trigger import falls, reached
from watcher import keys
from watcher.events import EmulatedOrder, OrderArming, encode_event
from watcher.publish import DIRTY_TTL, enqueue_evaluations, queue_evaluations
from workers import order_desk, order_state
from workers.actions import JobPolicy, Won, handed
from workers.firings import Firing
from workers.order_place import (
    attempt,
    guard,
    lease_ms,
    limits_text,
    steps,
    unguard,
)
from workers.order_send import send_soon
from workers.state import ClaimRequest, Scripts, decode_hash

log = logging.getLogger(__name__)

PLACE = JobPolicy(func=keys.PLACE_JOB, queue=keys.ORDERS_QUEUE, failure_ttl=7 * 86_400)

# Takes a bracket's armed exits for one order: KEYS[1] the armed record, ARGV[1] the arming.
# Returns the size armed (and marks them fired), or false if that arming is not armed.
_TAKE = """
if redis.call('HGET', KEYS[1], 'arming') ~= ARGV[1]
   or redis.call('HGET', KEYS[1], 'state') ~= 'armed' then
  return false
end
redis.call('HSET', KEYS[1], 'state', 'fired')
return redis.call('HGET', KEYS[1], 'size')
"""


@dataclass(frozen=True, slots=True)
class _Placing:
    """A PlaceOrder's trigger call (its record, client order id cid) and what it came to."""

    action: PlaceOrder
    cid: str
    call: order_state.Trigger
    triggered: order_state.Triggered


class _Triggers:
    """PlaceOrders' part of a batch in its claims' round trip (an Early handler's Ahead): each
    order's trigger script, checking that its firing holds the firing's claim, then the guards
    of the orders placed inline (order_place.guard). A firing that lost its claim changes
    nothing but leaves its guard, which finds no record when it runs, and ends."""

    def __init__(self, client: redis.Redis, pairs: Sequence[tuple[Firing, PlaceOrder]]) -> None:
        desk = order_desk.current()
        inline = desk is not None and desk.inline
        ms = lease_ms(desk)
        self.made: list[tuple[PlaceOrder, str, order_state.Trigger] | None] = []
        for fired, action in pairs:
            cid = keys.client_order_id(action.rule, fired.firing)
            lease = (uuid.uuid4().hex, ms)
            call = _trigger_call(client, action, cid, fired, lease, fired.claim)
            self.made.append(None if call is None else (action, cid, call))
        made = [m for m in self.made if m is not None]
        self.triggers = order_state.Triggers(client, [call for _, _, call in made])
        cids = [cid for _, cid, _ in made]
        self.guards = _guards(client, cids, ms) if inline else None

    def queue(self, pipe: Pipeline, loaded: bool) -> int:
        before = len(pipe)
        self.triggers.queue(pipe, loaded)
        if self.guards is not None:
            self.guards(pipe)
        return len(pipe) - before

    def answers(self, replies: Sequence[Any]) -> list[_Placing | None]:
        done = iter(self.triggers.triggered(replies[: len(self.triggers.calls)]))
        return [None if m is None else _Placing(*m, next(done)) for m in self.made]


class PlaceOrders:
    """PlaceOrder: create each firing's TRIGGERED record, then place it (inline or queued).

    The records are created in the round trip of the batch's claims (an Early handler: each
    trigger script checks its firing's claim), with their guards when placed inline
    (order_place.guard()), then their orders are sent on the worker's sender threads
    (order_send.send_soon): an order's latency is that round trip and its own REST call, and
    the stream's next batches wait for a slow venue's answers a few ms at most."""

    def ahead(self, client: redis.Redis, pairs: Sequence[tuple[Firing, Action]]) -> _Triggers:
        """Return the trigger scripts (and guards) of these firings' orders."""
        orders = [(fired, action) for fired, action in pairs if isinstance(action, PlaceOrder)]
        if len(orders) != len(pairs):
            raise TypeError("PlaceOrders handed another action")
        return _Triggers(client, orders)

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Place (inline) the orders whose records their firings created, or queue their
        placing jobs into `pipe`; return jobs."""
        desk = order_desk.current()
        inline = desk is not None and desk.inline
        placings: list[_Placing] = []
        gone: list[_Placing] = []
        for w, _ in handed(self, won, PlaceOrder):
            placing = w.ahead
            if isinstance(placing, _Placing):
                (gone if placing.triggered.outcome == "lost" else placings).append(placing)
        if gone:
            # Won, yet the claim was gone when the script looked (its TTL ran out between
            # the two): trigger these again, unchecked.
            calls = [replace(p.call, claim=None) for p in gone]
            cids = [p.cid for p in gone]
            guards = _guards(client, cids, lease_ms(desk)) if inline else None
            answers = order_state.trigger_many(client, calls, guards)
            placings += [replace(p, triggered=t) for p, t in zip(gone, answers, strict=True)]
        sends: list[tuple[str, dict[str, str], str]] = []
        again, jobs, flagged = [], [], []
        for p in placings:
            action, cid, call, triggered = p.action, p.cid, p.call, p.triggered
            if triggered.outcome == "other":
                held = triggered.state
                log.info("%s: arming %s already placed order %s", action.rule, call.arming, held)
                if inline:
                    unguard(client, cid)  # no record of this id: nothing to check
                continue
            if action.size_from_arming and triggered.outcome == "new":
                client.eval(_TAKE, 1, keys.armed(action.rule_id), call.arming)
            if triggered.state != "triggered":
                if inline:
                    unguard(client, cid)
                continue  # done before (a redelivery)
            flagged.append(triggered.flagged)
            if triggered.outcome == "new" and inline and triggered.record is not None:
                sends.append((cid, triggered.record, call.lease[0]))
            elif inline:
                again.append(cid)  # a redelivery: it may have been sent, so it is looked up
            else:
                if triggered.outcome == "new":
                    Scripts.of(client).release(keys=[keys.order_lease(cid)], args=[call.lease[0]])
                jobs.append(PLACE.prepare((cid, 0), keys.place_job_id(cid, 0), f"place {cid}"))
        send_soon(client, desk, sends)
        for cid in again:
            # Before this batch is acked: a worker dying now leaves it to the next redelivery.
            attempt(client, desk, cid, retry=1, guarded=True)
        # The private streams the records' announcements flagged: their evaluations are queued
        # with the batch (its MULTI), not in a round trip of their own.
        queue_evaluations(client, pipe, sorted({stream for stream in flagged if stream}))
        if jobs:
            Queue(PLACE.queue, connection=client).enqueue_many(jobs, pipeline=pipe)
        return len(jobs)


def _guards(client: redis.Redis, cids: Sequence[str], lease: int) -> Callable[[Pipeline], None]:
    """Return what queues the guards of the records `cids` (order_place.guard), due when the
    leases taken with them have run out."""
    due_ms = int(time.time() * 1000) + lease

    def queue(pipe: Pipeline) -> None:
        for cid in cids:
            guard(client, pipe, cid, due_ms)

    return queue


def _trigger_call(
    client: redis.Redis,
    action: PlaceOrder,
    cid: str,
    fired: Firing,
    lease: tuple[str, int],
    claim: ClaimRequest,
) -> order_state.Trigger | None:
    """Return what creates the firing's record under its arming's guard (None: a bracket
    with nothing armed)."""
    spec, trigger, leg, arming = action.spec, action.trigger, action.leg, action.arming
    cancels = action.cancels
    if action.size_from_arming:
        armed = decode_hash(client.hgetall(keys.armed(action.rule_id)))
        if armed.get("state") != "armed":
            log.info("%s: fired with no exits armed; nothing to place", action.rule)
            return None
        take_profit, stop = Decimal(armed["take_profit"]), Decimal(armed["stop"])
        hit = reached("take_profit", spec.side, take_profit, action.fired_at)
        leg, trigger = ("take_profit", take_profit) if hit else ("stop", stop)
        cancels = "stop" if hit else "take_profit"  # a bracket's exits are an OCO
        arming = armed["arming"]
        spec = OrderSpec(
            spec.venue, spec.account, spec.market, spec.side, Decimal(armed["size"]),
            spec.ord_type, spec.price, spec.reduce_only, spec.close_position,
        )  # fmt: skip
    holds_at = trigger if trigger is not None else action.fired_at
    direction = (
        falls(leg or action.order, spec.side)
        if action.order != "trailing"
        else (spec.side == "sell")
    )
    record = order_state.fields(action, spec, trigger, arming, cid, fired) | {
        "leg": leg, "fired_at": text(action.fired_at), "_limits": limits_text(action.limits),
        "_holds": f"{'le' if direction else 'ge'}:{text(holds_at)}",
        "_triggered_ms": str(int(time.time() * 1000)),
    }  # fmt: skip
    sibling = None
    if cancels:
        sibling = EmulatedOrder(
            venue=spec.venue, at=datetime.now(UTC), account=spec.account, market=spec.market,
            rule=action.rule, order=action.order, leg=cancels, state="canceled",
            side=spec.side, size=spec.size, ord_type="market", source=action.source,
            reduce_only=spec.reduce_only, close_position=spec.close_position, code="oco",
            reason=f"the {leg.replace('_', '-')} leg fired first",
        )  # fmt: skip
    return order_state.Trigger(record, arming, lease, sibling, claim)


class TrackOrders:
    """TrackOrder: an update of one of the emulated orders' real orders moves its record."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Move each update's record, all in a few round trips (no job is queued)."""
        updates = [action.update for _, action in handed(self, won, TrackOrder)]
        records = order_state.load_many(client, (u.client_order_id for u in updates))
        moves: list[order_state.Move | order_state.Update] = []
        for update in updates:
            record = records.get(update.client_order_id)
            if record is None:
                log.info("update of %s: no emulated order has it", update.client_order_id)
                continue
            moves += steps(record, update)
        order_state.run(client, moves)
        return 0


class ArmBrackets:
    """ArmBracket: count an entry fill into its bracket's armed exits and announce them."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Arm or grow each bracket's exits (no job is queued)."""
        for _, action in handed(self, won, ArmBracket):
            _arm(client, action)
        return 0


def _arm(client: redis.Redis, action: ArmBracket) -> None:
    """Count the fill into the armed record and announce the exits, in one transaction."""
    fill, key = action.fill, keys.armed(action.rule_id)
    desk = order_desk.current()
    if desk is None:
        log.error("%s: cannot arm its exits: no trading desk in this worker", action.rule)
        return
    market_stream = keys.ticks_stream(keys.partition(fill.venue, fill.market, desk.partitions))
    private = keys.private_stream(fill.venue, fill.account)
    streams = (market_stream, private)
    with client.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]
                armed = decode_hash(pipe.hgetall(key))
                trade = f"t:{fill.trade_id}"
                if trade in armed:
                    return  # counted and announced already (a redelivered fill)
                if armed.get("state") != "armed":
                    armed = {"arming": f"{action.rule_id}:{fill.trade_id}", "state": "armed"}
                armed[trade] = f"{text(fill.size)}|{text(fill.price)}"
                events = _armed(action, armed)
                pipe.multi()
                pipe.delete(key)
                pipe.hset(key, mapping=armed)  # type: ignore[arg-type]
                arming, announced = events
                pipe.xadd(market_stream, {"k": arming.kind, "d": encode_event(arming)})
                pipe.xadd(private, {"k": announced.kind, "d": encode_event(announced)})
                for stream in streams:
                    pipe.set(keys.dirty(stream), 1, nx=True, ex=DIRTY_TTL)
                flags = pipe.execute()[-len(streams) :]
                break
            except redis.WatchError:
                continue
    enqueue_evaluations(client, [s for s, f in zip(streams, flags, strict=True) if f])


def _armed(action: ArmBracket, armed: dict[str, str]) -> tuple[OrderArming, EmulatedOrder]:
    """Fill in the armed record's size and levels; return its arming and its announcement."""
    fill = action.fill
    size = notional = Decimal(0)
    for field, value in armed.items():
        if field.startswith("t:"):
            amount, price = (Decimal(part) for part in value.split("|"))
            size += amount
            notional += amount * price
    size, entry = size.normalize(), (notional / size).normalize()  # sums print as "0.5"
    take_profit, stop = action.levels(entry)
    armed |= {
        "size": text(size), "entry": text(entry),
        "take_profit": text(take_profit), "stop": text(stop),
    }  # fmt: skip
    arming = OrderArming(
        venue=fill.venue, at=fill.at, account=fill.account, market=fill.market,
        rule=action.rule_id, arming=armed["arming"], size=size, take_profit=take_profit,
        stop=stop,
    )  # fmt: skip
    announced = EmulatedOrder(
        venue=fill.venue, at=fill.at, account=fill.account, market=fill.market,
        rule=action.rule, order="bracket", state="armed",
        side="sell" if fill.side == "buy" else "buy", size=size, ord_type="market",
        reason=f"entry {text(entry)}: take-profit at {text(take_profit)}, stop at {text(stop)}",
    )  # fmt: skip
    return arming, announced
