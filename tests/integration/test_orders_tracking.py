"""Tracking emulated orders: a batch of updates of their real orders on the account's private
stream moves each record (two updates of one order in the same batch, in order), announces each
transition once, and costs the same few Redis round trips however many updates it holds."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.client import Pipeline
from rq import Queue

from rules.actions import OrderSpec, PlaceOrder, TrackOrder
from rules.base import Rule
from rules.kinds import transition_message
from rules.load import load_rules
from watcher import keys
from watcher.events import EmulatedOrder, OrderUpdate, decode_event, encode_event
from workers import order_desk, order_state
from workers.actions import NOTIFY, Won
from workers.context import Context
from workers.evaluate import evaluate_stream
from workers.firings import Firing
from workers.orders import PlaceOrders, TrackOrders
from workers.state import (
    NEW,
    TAKEN,
    ClaimRequest,
    Scripts,
    claim_results,
    queue_claims,
    run_pipelined,
)

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: guard
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59000"}
    notify: desk
"""
PRIVATE = keys.private_stream("okx", "main")


class Counting(redis.Connection):
    """A connection that counts its writes: one per round trip (a pipeline is one)."""

    writes = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        Counting.writes += 1
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


@pytest.fixture
def counted(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, connection_class=Counting)
    yield client
    client.close()


def _triggered(r: redis.Redis, n: int) -> str:
    """Create the TRIGGERED record of the rule's order number `n`; return its client id."""
    cid = keys.client_order_id("guard", f"firing-{n}")
    record = {
        "venue": "okx", "account": "main", "market": "BTC-USDT", "rule": "guard",
        "order": "stop", "client_order_id": cid, "side": "sell", "size": "0.5",
        "ord_type": "market", "trigger": "59000", "fired_at": "58990",
    }  # fmt: skip
    assert order_state.trigger(r, record, f"arming-{n}", ("token", 5000)).outcome == "new"
    return cid


def _update(cid: str, state: str, filled: str = "0", **extra: str) -> OrderUpdate:
    return OrderUpdate(
        venue="okx", at=datetime.now(UTC), account="main", market="BTC-USDT",
        order_id=f"o-{cid[-6:]}", client_order_id=cid, side="sell", order_type="market",
        state=state, size=Decimal("0.5"), filled=Decimal(filled),
        avg_price=Decimal(58980) if filled != "0" else None, **extra,
    )  # fmt: skip


def _push(r: redis.Redis, updates: list[OrderUpdate]) -> None:
    with r.pipeline(transaction=False) as pipe:
        for u in updates:
            pipe.xadd(PRIVATE, {"k": u.kind, "d": encode_event(u)})
        pipe.execute()


def _transitions(r: redis.Redis) -> list[EmulatedOrder]:
    """Return the transitions announced on the private stream, in order."""
    entries: list[tuple[bytes, dict[bytes, bytes]]] = r.xrange(PRIVATE)  # type: ignore[assignment]
    events = [decode_event(fields[b"d"]) for _, fields in entries]
    return [e for e in events if isinstance(e, EmulatedOrder)]


def _announced(r: redis.Redis) -> list[tuple[str, str]]:
    """Return the transitions announced on the private stream: (client id, state), in order."""
    return [(e.client_order_id, str(e.state)) for e in _transitions(r)]


def test_a_batch_of_updates_moves_each_record_in_order(r: redis.Redis, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    context = Context.build(load_rules([path], env={}))
    a, b, c, d, e = (_triggered(r, n) for n in range(5))
    r.delete(PRIVATE)  # the TRIGGERED announcements: not this test's subject
    _push(r, [
        _update(a, "live"), _update(b, "live"), _update(a, "filled", "0.5"),  # a: placed, filled
        _update(c, "canceled", code="user"), _update(d, "order_failed", code="51008"),
        _update(e, "partially_filled", "0.2"),
        _update(keys.client_order_id("guard", "never"), "live"),  # no record: logged, skipped
    ])  # fmt: skip
    assert evaluate_stream(r, PRIVATE, context) == 7 + 6  # and the 6 transitions announced
    states = {cid: order_state.load(r, cid)["state"] for cid in (a, b, c, d, e)}
    assert states == {a: "filled", b: "placed", c: "canceled", d: "rejected", e: "placed"}
    assert order_state.load(r, a)["avg_price"] == "58980"
    assert order_state.load(r, e)["filled"] == "0.2"  # a partial fill: no transition
    assert order_state.load(r, d)["code"] == "51008"
    assert sorted(_announced(r)) == sorted([
        (a, "placed"), (a, "filled"), (b, "placed"), (c, "canceled"), (d, "rejected"),
        (e, "placed"),
    ])  # fmt: skip
    assert [t for t in _announced(r) if t[0] == a] == [(a, "placed"), (a, "filled")]
    assert r.hget(keys.STATS, keys.STAT_ORDERS_REJECTED) == b"1"
    bodies = sorted(transition_message(e) for e in _transitions(r))
    assert sorted(body for _, _, body, _ in _messages(r)) == bodies
    assert len(_messages(r)) == 6
    # A redelivery of the same updates moves nothing again and announces nothing twice.
    announced = _announced(r)
    _push(r, [_update(a, "live"), _update(a, "filled", "0.5"), _update(d, "order_failed")])
    assert evaluate_stream(r, PRIVATE, context) == 3
    assert _announced(r) == announced
    assert len(_messages(r)) == 6
    assert r.hget(keys.STATS, keys.STAT_ORDERS_REJECTED) == b"1"


def _messages(r: redis.Redis) -> list[tuple[str, str, str, str]]:
    """The messages the queued notify jobs carry: (id, title, body, firing) each."""
    return [m for job in Queue(NOTIFY.queue, connection=r).jobs for m in job.args[1]]


@pytest.fixture
def rule(tmp_path: Path) -> Rule:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    [found] = load_rules([path], env={}).rules()
    return found


def _stage(client: redis.Redis, rule: Rule, updates: list[OrderUpdate]) -> None:
    """Hand `updates` to TrackOrders as one batch's won claims, as the drain does."""
    won = []
    for n, update in enumerate(updates):
        firing = f"{rule.id}:{PRIVATE}:{n}-0"
        fired = Firing(rule, ("stop", 0), firing, ClaimRequest(firing, firing, 0), "", 0, ())
        won.append(Won(fired, TrackOrder(update), redelivered=False))
    with client.pipeline() as pipe:
        assert TrackOrders().stage(client, pipe, won) == 0
        assert not pipe.command_stack  # it queues no job


def _round_trips(counted: redis.Redis, rule: Rule, orders: int) -> int:
    """Return the round trips TrackOrders takes for a batch placing, then filling, `orders`."""
    counted.flushall()
    cids = [_triggered(counted, n) for n in range(orders)]
    _stage(counted, rule, [_update(cids[0], "live")])  # loads the script into the server's cache
    batch = [_update(cid, "live") for cid in cids[1:]]
    batch += [_update(cid, "filled", "0.5") for cid in cids]
    before = Counting.writes
    _stage(counted, rule, batch)
    spent = Counting.writes - before
    assert {order_state.load(counted, cid)["state"] for cid in cids} == {"filled"}
    return spent


def test_a_batch_costs_the_same_round_trips_whatever_its_size(
    counted: redis.Redis, rule: Rule
) -> None:
    small, large = (_round_trips(counted, rule, n) for n in (2, 12))
    # Its records read in one round trip, its moves made in another (the stream's evaluation
    # is not enqueued: the TRIGGERED announcements flagged it already).
    assert (small, large) == (2, 2)


def test_a_batch_moves_records_when_the_server_lost_its_scripts(r: redis.Redis, rule: Rule) -> None:
    a, b = _triggered(r, 0), _triggered(r, 1)
    _stage(r, rule, [_update(a, "live")])  # the script is loaded...
    r.script_flush()  # ...and gone: a restarted server's script cache is empty
    updates = [_update(b, "live"), _update(a, "partially_filled", "0.2"), _update(b, "filled", "1")]
    _stage(r, rule, updates)
    assert order_state.load(r, a)["filled"] == "0.2"
    assert [order_state.load(r, cid)["state"] for cid in (a, b)] == ["placed", "filled"]
    assert [t for t in _announced(r) if t[0] == b] == [
        (b, "triggered"),
        (b, "placed"),
        (b, "filled"),
    ]


def _call(n: int, arming: str) -> order_state.Trigger:
    cid = keys.client_order_id("guard", f"firing-{n}")
    record = {
        "venue": "okx", "account": "main", "market": "BTC-USDT", "rule": "guard",
        "order": "stop", "client_order_id": cid, "side": "sell", "size": "0.5",
        "ord_type": "market",
    }  # fmt: skip
    return order_state.Trigger(record, arming, (f"token-{n}", 5000))


def test_a_batch_of_triggers_is_one_round_trip_and_an_arming_places_once(
    counted: redis.Redis,
) -> None:
    counted.script_flush()  # the first round trip finds no script: redis-py loads it, once
    calls = [_call(0, "arming-0"), _call(1, "arming-1"), _call(2, "arming-0")]
    before = Counting.writes
    done = order_state.trigger_many(counted, calls)
    assert Counting.writes - before == 1 + 3  # EVALSHAs; SCRIPT EXISTS, LOAD; EVALSHAs again
    assert [(t.outcome, t.state) for t in done] == [
        ("new", "triggered"),
        ("new", "triggered"),
        ("other", calls[0].record["client_order_id"]),  # arming-0's guard: the first call's
    ]
    assert [t.record is not None for t in done] == [True, True, False]
    assert [t.flagged for t in done] == [PRIVATE, "", ""]  # the stream flagged once, first
    assert counted.get(keys.order_lease(calls[1].record["client_order_id"])) == b"token-1"
    assert [cid for cid, _ in _announced(counted)] == [
        calls[0].record["client_order_id"],
        calls[1].record["client_order_id"],
    ]
    before = Counting.writes
    again = order_state.trigger_many(counted, calls[:2])  # a redelivery: the records are there
    assert Counting.writes - before == 1
    assert [(t.outcome, t.state) for t in again] == [("again", "triggered")] * 2


def test_a_trigger_in_the_claims_round_trip_creates_nothing_for_a_lost_claim(
    counted: redis.Redis,
) -> None:
    """The claim script and the trigger scripts run in one round trip; each trigger checks
    that its firing holds the firing's claim, so a firing that lost it leaves no record."""
    scripts = Scripts.of(counted)
    counted.set(keys.claim("lost-rule"), "another-firing")
    won = ClaimRequest(keys.claim("won-rule"), "firing-0", 0)
    lost = ClaimRequest(keys.claim("lost-rule"), "firing-1", 0)
    calls = [replace(_call(0, "arming-0"), claim=won), replace(_call(1, "arming-1"), claim=lost)]
    triggers = order_state.Triggers(counted, calls)

    def queue(pipe: Pipeline, loaded: bool) -> None:
        queue_claims(pipe, scripts, [won, lost], loaded)
        triggers.queue(pipe, loaded)

    run_pipelined(counted, queue)  # loads the scripts: the answers below are a second run's
    counted.delete(keys.claim("won-rule"), keys.order_guard("arming-0"))
    counted.delete(keys.emulated(calls[0].record["client_order_id"]))
    before = Counting.writes
    replies = run_pipelined(counted, queue)
    assert Counting.writes - before == 1
    assert [c.status for c in claim_results(replies[0])] == [NEW, TAKEN]
    assert [(t.outcome, t.state) for t in triggers.triggered(replies[1:])] == [
        ("new", "triggered"),
        ("lost", ""),
    ]
    assert not counted.exists(keys.emulated(calls[1].record["client_order_id"]))
    assert not counted.exists(keys.order_guard("arming-1"))
    assert not counted.exists(keys.order_lease(calls[1].record["client_order_id"]))


def test_a_won_firing_whose_claim_ran_out_before_its_trigger_is_triggered_again(
    r: redis.Redis, rule: Rule
) -> None:
    """The claim script won (or found its own) claim, but the key was gone when the trigger
    script looked (its TTL ran out between the two): stage() triggers it again, unchecked."""
    ticks = keys.ticks_stream(0)
    firing = f"{rule.id}:{ticks}:1-0"
    fired = Firing(
        rule, ("stop", 0), firing, ClaimRequest(keys.claim(firing), firing, 5), "", 0, ()
    )
    spec = OrderSpec("okx", "main", "BTC-USDT", "sell", Decimal("0.5"), "market")
    action = PlaceOrder(
        rule=rule.name, rule_id=rule.id, order="stop", spec=spec, source="last",
        trigger=Decimal(59000), fired_at=Decimal(58990), arming=rule.id,
    )  # fmt: skip
    orders = PlaceOrders()
    part = orders.ahead(r, [(fired, action)])

    def queue(pipe: Pipeline, loaded: bool) -> None:
        part.queue(pipe, loaded)

    [placing] = part.answers(run_pipelined(r, queue))
    assert placing is not None
    assert placing.triggered.outcome == "lost"  # no claim key: nothing was created
    assert not r.exists(keys.emulated(placing.cid))
    assert order_desk.current() is None  # placed by a job on the orders queue, then
    with r.pipeline() as pipe:
        assert orders.stage(r, pipe, [Won(fired, action, False, placing)]) == 1
        pipe.execute()
    assert order_state.load(r, placing.cid)["state"] == "triggered"
    [job] = Queue(keys.ORDERS_QUEUE, connection=r).jobs
    assert job.args == (placing.cid, 0)
