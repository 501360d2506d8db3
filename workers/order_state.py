"""An emulated order's record in Redis, and its state machine:

    ARMED -> TRIGGERED -> PLACED -> FILLED | REJECTED | CANCELED | EXPIRED

(TRIGGERED -> REJECTED or EXPIRED when no order could be placed; ARMED -> EXPIRED when an
order's `expires`/`for` ran out before its trigger held: expire()). The record is a hash keyed by
the client order id of its one real order (keys.emulated); its public fields are exactly an
EmulatedOrder's, its own start with "_". Each transition is one Lua call that checks the state
it moves from, writes the record and XADDs the EmulatedOrder event to the account's private
stream (flagging the stream for evaluation), so a state is entered once and announced once,
whoever moves it: the worker that placed the order, or the one reading its updates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

import redis
from redis.client import Pipeline
from redis.commands.core import Script

from rules.actions import ExpireOrder, OrderSpec, PlaceOrder
from rules.base import text, utc_text
from watcher import keys
from watcher.events import EmulatedOrder
from watcher.publish import DIRTY_TTL, enqueue_evaluations
from workers.firings import Firing
from workers.state import ClaimRequest, decode_hash, queue_script, registered, run_pipelined

RECORD_TTL: Final = 30 * 86_400  # seconds a record stays after its last change
GUARD_TTL: Final = 90 * 86_400  # an arming places one order for this long at least
FINAL: Final = frozenset({"filled", "rejected", "canceled", "expired"})
# The STATS field counting the records that enter a state: a record enters each state once,
# whichever step moves it there first (its REST answer or its venue's update).
COUNTED: Final = {"placed": keys.STAT_ORDERS_PLACED, "rejected": keys.STAT_ORDERS_REJECTED}

# The event of a record: its public fields (non-empty), as EmulatedOrder JSON.
_EVENT = """
local function event(key, at)
  local flat = redis.call('HGETALL', key)
  local e = {kind = 'emulated', at = at}
  for i = 1, #flat, 2 do
    local k, v = flat[i], flat[i + 1]
    if string.sub(k, 1, 1) ~= '_' and v ~= '' then e[k] = v end
  end
  e.reduce_only = (e.reduce_only == 'true')
  e.close_position = (e.close_position == 'true')
  return cjson.encode(e)
end
local function announce(stream, dirty, key, at, ms, ttl)
  redis.call('XADD', stream, '*', 'k', 'emulated', 'd', event(key, at), 't', ms)
  if redis.call('SET', dirty, '1', 'NX', 'EX', ttl) then return 1 end
  return 0
end
"""

# KEYS: guard, record, private stream, its dirty flag, the order's lease, [the firing's claim].
# ARGV: client order id, at (ISO), ms, dirty ttl, record ttl, guard ttl, a sibling's event JSON
# ("" if none), the lease's token and ms, the firing that must hold the claim ("": no claim to
# check), then field pairs. Returns {outcome, state or holder, stream newly flagged}: outcome
# "new" (this call created the record, TRIGGERED, and holds its lease), "again" (this client id
# holds the guard: the record's state), "other" (another client id holds the arming's guard:
# the holder) or "lost" (another firing holds the claim: nothing was done).
_TRIGGER = (
    _EVENT
    + """
if ARGV[10] ~= '' and redis.call('GET', KEYS[6]) ~= ARGV[10] then return {'lost', '', 0} end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'other', holder, 0} end
if holder then return {'again', redis.call('HGET', KEYS[2], 'state') or '', 0} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[6])
redis.call('SET', KEYS[5], ARGV[8], 'PX', ARGV[9])
redis.call('HSET', KEYS[2], 'state', 'triggered', unpack(ARGV, 11))
redis.call('EXPIRE', KEYS[2], ARGV[5])
local fresh = announce(KEYS[3], KEYS[4], KEYS[2], ARGV[2], ARGV[3], ARGV[4])
if ARGV[7] ~= '' then
  redis.call('XADD', KEYS[3], '*', 'k', 'emulated', 'd', ARGV[7], 't', ARGV[3])
end
return {'new', 'triggered', fresh}
"""
)

# KEYS: record, private stream, its dirty flag, stats. ARGV: the states it may move from
# (" a b "), the new state, at, ms, dirty ttl, record ttl, the stats field to count it in
# (COUNTED; "": none), then field pairs. Returns {"ok" or the state it is in ("" when there
# is no record), stream newly flagged}.
_MOVE = (
    _EVENT
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'', 0} end
if not string.find(ARGV[1], ' ' .. state .. ' ', 1, true) then return {state, 0} end
redis.call('HSET', KEYS[1], 'state', ARGV[2], unpack(ARGV, 8))
if ARGV[7] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[7], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {'ok', announce(KEYS[2], KEYS[3], KEYS[1], ARGV[3], ARGV[4], ARGV[5])}
"""
)


# KEYS: guard, record, private stream, its dirty flag. ARGV: client order id, at (ISO), ms,
# dirty ttl, record ttl, guard ttl, then field pairs. An armed order whose time ran out: unless
# its arming's guard is held (an order was triggered, or it expired already: a redelivery),
# take the guard and create the record EXPIRED, announced. Returns {created, stream flagged}.
_EXPIRE = (
    _EVENT
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, 0} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[6])
redis.call('HSET', KEYS[2], 'state', 'expired', unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {1, announce(KEYS[3], KEYS[4], KEYS[2], ARGV[2], ARGV[3], ARGV[4])}
"""
)


class _Scripts:
    """The record's Lua scripts, registered once per client."""

    def __init__(self, client: redis.Redis) -> None:
        self.trigger: Script = client.register_script(_TRIGGER)
        self.move: Script = client.register_script(_MOVE)
        self.expire: Script = client.register_script(_EXPIRE)


@dataclass(frozen=True, slots=True)
class Triggered:
    """What asking to trigger an order came to (see _TRIGGER)."""

    outcome: str  # new, again, other, lost
    state: str  # the record's state ("new"/"again"), or the guard's holder ("other")
    record: dict[str, str] | None = None  # the record created ("new")
    flagged: str = ""  # the private stream this call flagged for evaluation (to enqueue)


def fields(
    action: PlaceOrder | ExpireOrder,
    spec: OrderSpec,
    trigger: Decimal | None,
    arming: str,
    cid: str,
    fired: Firing,
) -> dict[str, str]:
    """Return the fields every new record has: its order (`spec`, `trigger`: the action's, or
    a bracket's armed exit), the firing that made it, its arming and its rule's channels
    (notified should the rule be gone: workers/order_orphans.py)."""
    return {
        "venue": spec.venue, "account": spec.account, "market": spec.market,
        "rule": action.rule, "order": action.order, "client_order_id": cid, "side": spec.side,
        "size": text(spec.size), "ord_type": spec.ord_type, "price": text(spec.price),
        "trigger": text(trigger), "source": action.source,
        "reduce_only": "true" if spec.reduce_only else "false",
        "close_position": "true" if spec.close_position else "false",
        "_firing": fired.firing, "_arming": arming, "_rule_id": action.rule_id,
        "_stream": keys.firing_stream(fired.firing),
        "_channels": ",".join(fired.rule.channels),
        "_tick_ms": str(fired.at_ms),  # the exchange time of the tick that made it
    }  # fmt: skip


def _now() -> tuple[str, int]:
    ms = int(time.time() * 1000)
    return utc_text(datetime.fromtimestamp(ms / 1000, UTC)), ms


def _flat(fields: Mapping[str, str]) -> list[str]:
    return [item for pair in fields.items() for item in pair]


def _kick(client: redis.Redis, stream: str, fresh: object) -> None:
    if int(str(fresh)):
        enqueue_evaluations(client, [stream])


@dataclass(frozen=True, slots=True)
class Trigger:
    """A call of trigger_many(): trigger()'s arguments as data (see trigger)."""

    record: Mapping[str, str]
    arming: str
    lease: tuple[str, int]  # token, ms
    sibling: EmulatedOrder | None = None
    claim: ClaimRequest | None = None  # the firing's claim: "lost" unless it holds it


def trigger(
    client: redis.Redis,
    record: Mapping[str, str],
    arming: str,
    lease: tuple[str, int],
    sibling: EmulatedOrder | None = None,
) -> Triggered:
    """Create an order's record in state TRIGGERED, holding its lease (token, ms), unless its
    arming's guard is held (by another client id: "other"; by this one: "again"), announcing it
    (and a canceled sibling); the caller enqueues the evaluation of the stream it `flagged`."""
    return trigger_many(client, [Trigger(record, arming, lease, sibling)])[0]


def trigger_many(
    client: redis.Redis,
    calls: Sequence[Trigger],
    also: Callable[[Pipeline], None] | None = None,
) -> list[Triggered]:
    """Carry out trigger() for each of `calls`, in order and in one round trip (each script
    checks its arming's guard when it runs: a second call for one arming finds the first's);
    `also` queues more commands into that round trip, after the scripts."""
    if not calls:
        return []
    triggers = Triggers(client, calls)

    def queue(pipe: Pipeline, loaded: bool) -> None:
        triggers.queue(pipe, loaded)
        if also is not None:
            also(pipe)

    return triggers.triggered(run_pipelined(client, queue)[: len(calls)])


class Triggers:
    """trigger_many()'s scripts, for a round trip of the caller's (see run_pipelined): queue()
    them, then hand their replies, in order, to triggered()."""

    def __init__(self, client: redis.Redis, calls: Sequence[Trigger]) -> None:
        self.script = registered(client, _Scripts).trigger
        at, ms = _now()
        self.calls = calls
        self.prepared = [_trigger_call(call, at, ms) for call in calls]

    def queue(self, pipe: Pipeline, loaded: bool) -> None:
        """Queue the calls' scripts into `pipe`, one command each."""
        for keys_, args, _ in self.prepared:
            queue_script(pipe, self.script, keys_, args, loaded)

    def triggered(self, replies: Sequence[Any]) -> list[Triggered]:
        """Return what each call came to, from its script's reply."""
        done = []
        for (_, _, stream), call, (outcome, state, fresh) in zip(
            self.prepared, self.calls, replies, strict=True
        ):
            result = _text(outcome)
            created = {**call.record, "state": "triggered"} if result == "new" else None
            flagged = stream if int(str(fresh)) else ""
            done.append(Triggered(result, _text(state), created, flagged))
        return done


def _trigger_call(call: Trigger, at: str, ms: int) -> tuple[list[str], list[Any], str]:
    """Return a trigger call's keys, arguments and private stream."""
    record = call.record
    cid = record["client_order_id"]
    stream = keys.private_stream(record["venue"], record["account"])
    sibling_json = call.sibling.model_dump_json() if call.sibling is not None else ""
    token, lease_ms = call.lease
    keys_ = [
        keys.order_guard(call.arming), keys.emulated(cid), stream, keys.dirty(stream),
        keys.order_lease(cid),
    ]  # fmt: skip
    if call.claim is not None:
        keys_.append(call.claim.key)
    args = [
        cid, at, ms, DIRTY_TTL, RECORD_TTL, GUARD_TTL, sibling_json, token, lease_ms,
        call.claim.firing if call.claim is not None else "", *_flat(record),
    ]  # fmt: skip
    return keys_, args, stream


def expire(client: redis.Redis, record: Mapping[str, str], arming: str) -> bool:
    """Create the record of an armed order whose time ran out, EXPIRED and announced, under its
    arming's guard; False (nothing written) when the guard is held: the arming triggered an
    order, or expired before."""
    cid = record["client_order_id"]
    stream = keys.private_stream(record["venue"], record["account"])
    at, ms = _now()
    scripts = registered(client, _Scripts)
    created, fresh = scripts.expire(
        keys=[keys.order_guard(arming), keys.emulated(cid), stream, keys.dirty(stream)],
        args=[cid, at, ms, DIRTY_TTL, RECORD_TTL, GUARD_TTL, *_flat(record)],
    )
    _kick(client, stream, fresh)
    return bool(int(str(created)))


def move(
    client: redis.Redis,
    record: Mapping[str, str],
    frm: Sequence[str],
    to: str,
    fields: Mapping[str, str] | None = None,
    also: Callable[[Pipeline], None] | None = None,
) -> str:
    """Move a record from one of `frm` to `to` (setting `fields`, counting it in the STATS
    field COUNTED names for `to`), announcing it; return "ok", or the state it was in
    (untouched), "" when there is none. `also` queues more commands into its round trip."""
    return run(client, [Move(record, frm, to, fields or {})], also)[0]


@dataclass(frozen=True, slots=True)
class Move:
    """A step of run(): move() as data (see move)."""

    record: Mapping[str, str]
    frm: Sequence[str]
    to: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Update:
    """A step of run(): update() as data (see update)."""

    cid: str
    fields: Mapping[str, str]


def run(
    client: redis.Redis,
    steps: Sequence[Move | Update],
    also: Callable[[Pipeline], None] | None = None,
) -> list[str]:
    """Carry out `steps` in order, in one round trip (each move's Lua script checks its
    from-state when it runs, so a move sees the steps before it, as separate calls would);
    enqueue the evaluation of the streams they flagged once; return each Move's result (see
    move). `also` queues more commands into that round trip, after the steps."""
    if not steps:
        return []
    script = registered(client, _Scripts).move
    streams = [
        keys.private_stream(s.record["venue"], s.record["account"])
        for s in steps
        if isinstance(s, Move)
    ]

    def queue(pipe: Pipeline, loaded: bool) -> None:
        moves = iter(streams)
        for step in steps:
            if isinstance(step, Update):
                pipe.hset(keys.emulated(step.cid), mapping=dict(step.fields))  # type: ignore[arg-type]
            else:
                move_keys = _move_keys(step.record, next(moves))
                queue_script(pipe, script, move_keys, _move_args(step), loaded)
        if also is not None:
            also(pipe)

    replies = run_pipelined(client, queue)[: len(steps)]
    moved = [reply for step, reply in zip(steps, replies, strict=True) if isinstance(step, Move)]
    flagged = {s for s, (_, fresh) in zip(streams, moved, strict=True) if int(str(fresh))}
    enqueue_evaluations(client, sorted(flagged))
    return [_text(result) for result, _ in moved]


def _move_keys(record: Mapping[str, str], stream: str) -> list[str]:
    return [keys.emulated(record["client_order_id"]), stream, keys.dirty(stream), keys.STATS]


def _move_args(step: Move) -> list[str | int]:
    at, ms = _now()
    frm = f" {' '.join(step.frm)} "
    stat = COUNTED.get(step.to, "")
    return [frm, step.to, at, ms, DIRTY_TTL, RECORD_TTL, stat, *_flat(step.fields)]


def load(client: redis.Redis, cid: str) -> dict[str, str]:
    """Return an order's record ({} when there is none)."""
    raw = client.hgetall(keys.emulated(cid))
    return decode_hash(raw)


def load_many(client: redis.Redis, cids: Iterable[str]) -> dict[str, dict[str, str]]:
    """Return the records of `cids` there are, by client order id, in one round trip."""
    wanted = list(dict.fromkeys(cids))
    if not wanted:
        return {}
    with client.pipeline(transaction=False) as pipe:
        for cid in wanted:
            pipe.hgetall(keys.emulated(cid))
        raws = pipe.execute()
    found = {cid: decode_hash(raw) for cid, raw in zip(wanted, raws, strict=True)}
    return {cid: record for cid, record in found.items() if record}


def update(client: redis.Redis, cid: str, fields: Mapping[str, str]) -> None:
    """Set record fields that announce nothing (its own, "_..."), without a transition."""
    client.hset(keys.emulated(cid), mapping=dict(fields))  # type: ignore[arg-type]


def _text(value: bytes | str | int) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
