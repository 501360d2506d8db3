"""A channel's outbox in Redis: messages wait here for a rate slot, a retry or a digest.

A message enters once (by id), leaves once: delivered (its keys.delivered marker is set in the
same script that removes it) or dead (moved to the dead letters). Every check-and-set is one Lua
script on the server's clock (TIME), so the rate limits hold across all notifier workers:

- take: one sender at a time per channel (a token lock); a sliding log per rate limit; the
  first `digest_after` sends in the digest window go alone, later ones take everything waiting
  (up to `max_batch`) as one digest. Nothing is removed: a sender that dies resends.
- done / defer / fail: after the send, remove what went out, or block the channel for a 429's
  retry-after, or count an attempt and back off (or dead-letter once attempts run out).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import redis
from redis.client import Pipeline

from rules.channel import Rate
from watcher import keys
from workers.state import queue_script, registered, run_pipelined

# add()'s answers
ADDED: Final = 1
ALREADY_SENT: Final = 0
ALREADY_DEAD: Final = 2
ALREADY_QUEUED: Final = 3

_ADD = """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if redis.call('ZSCORE', KEYS[5], ARGV[1]) then return 2 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 3 end
local seq = redis.call('HINCRBY', KEYS[3], 'seq', 1)
redis.call('ZADD', KEYS[1], seq, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS: outbox, msgs, state, lock, alone log, then one send log per limit.
# ARGV: token, lock ttl ms, digest_after, digest window ms, max batch, then count, period ms
# per limit. Returns {'busy', ms} | {'empty', 0} | {'wait', ms} | {'send', dead, id, msg, ...}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local holder = redis.call('GET', KEYS[4])
if holder and holder ~= ARGV[1] then return {'busy', redis.call('PTTL', KEYS[4])} end
local function free()
  if holder then redis.call('DEL', KEYS[4]) end
end
if redis.call('ZCARD', KEYS[1]) == 0 then free() return {'empty', 0} end
local blocked = tonumber(redis.call('HGET', KEYS[3], 'blocked') or '0')
if blocked > now then free() return {'wait', blocked - now} end
local wait = 0
for i = 6, #KEYS do
  local count = tonumber(ARGV[2 * i - 6])
  local period = tonumber(ARGV[2 * i - 5])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - period)
  local card = redis.call('ZCARD', KEYS[i])
  if card >= count then
    -- the send that must leave the window before one more fits in it
    local leaving = redis.call('ZRANGE', KEYS[i], card - count, card - count, 'WITHSCORES')
    local w = tonumber(leaving[2]) + period - now
    if w > wait then wait = w end
  end
end
if wait > 0 then free() return {'wait', wait} end
redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[2])
local n = redis.call('HINCRBY', KEYS[3], 'sends', 1)
for i = 6, #KEYS do
  redis.call('ZADD', KEYS[i], now, n)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i - 5])
end
local window = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window)
local size = 1
if redis.call('ZCARD', KEYS[5]) >= tonumber(ARGV[3]) then size = tonumber(ARGV[5]) end
local ids = redis.call('ZRANGE', KEYS[1], 0, size - 1)
if #ids == 1 then
  redis.call('ZADD', KEYS[5], now, n)
  redis.call('PEXPIRE', KEYS[5], window)
end
local dead = 0
if tonumber(redis.call('HGET', KEYS[3], 'dead') or '0') > now then dead = 1 end
local out = {'send', dead}
for _, id in ipairs(ids) do
  local msg = redis.call('HGET', KEYS[2], id)
  if msg then
    out[#out + 1] = id
    out[#out + 1] = msg
  else
    redis.call('ZREM', KEYS[1], id)  -- an id without its text cannot be sent (never written so)
  end
end
return out
"""

# KEYS: outbox, msgs, state, then one delivered marker per id. ARGV: marker ttl s, ids...
_DONE = """
for i = 2, #ARGV do
  local id = ARGV[i]
  redis.call('ZREM', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], 'tries:' .. id)
  redis.call('SET', KEYS[i + 2], 1, 'EX', ARGV[1])
end
redis.call('HDEL', KEYS[3], 'dead', 'blocked')
return #ARGV - 1
"""

# KEYS: state. ARGV: ms to block the channel for. Returns the ms it is blocked until.
_DEFER = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
local blocked = tonumber(redis.call('HGET', KEYS[3], 'blocked') or '0')
if until_ms > blocked then redis.call('HSET', KEYS[3], 'blocked', until_ms) end
return until_ms
"""

# KEYS: outbox, msgs, state, dead letters, dead letter data.
# ARGV: channel, error, permanent (0/1), max attempts, dead for ms, max dead letters,
# number of backoffs k, k backoff ms, then the ids. Returns the dead: {id, record, ...}.
_FAIL = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dying = ARGV[3] == '1' or tonumber(redis.call('HGET', KEYS[3], 'dead') or '0') > now
local k = tonumber(ARGV[7])
local worst = 0
local died = {}
for i = 8 + k, #ARGV do
  local id = ARGV[i]
  local tries = redis.call('HINCRBY', KEYS[3], 'tries:' .. id, 1)
  if dying or tries >= tonumber(ARGV[4]) then
    local msg = redis.call('HGET', KEYS[2], id)
    if msg then
      local record = cjson.encode({channel = ARGV[1], error = ARGV[2], at = now,
                                   attempts = tries, message = msg})
      redis.call('ZADD', KEYS[4], now, id)
      redis.call('HSET', KEYS[5], id, record)
      died[#died + 1] = id
      died[#died + 1] = record
    end
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], 'tries:' .. id)
  elseif tries > worst then
    worst = tries
  end
end
if #died > 0 then
  redis.call('HSET', KEYS[3], 'dead', now + tonumber(ARGV[5]))
  redis.call('HDEL', KEYS[3], 'blocked')
  local extra = redis.call('ZCARD', KEYS[4]) - tonumber(ARGV[6])
  if extra > 0 then
    for _, old in ipairs(redis.call('ZRANGE', KEYS[4], 0, extra - 1)) do
      redis.call('HDEL', KEYS[5], old)
    end
    redis.call('ZREMRANGEBYRANK', KEYS[4], 0, extra - 1)
  end
elseif worst > 0 then
  redis.call('HSET', KEYS[3], 'blocked', now + tonumber(ARGV[7 + math.min(worst, k)]))
end
return died
"""

# KEYS: state. ARGV: wait ms, grace ms. Returns the due (server ms) of a flush the caller
# must schedule, or 0 if one is pending that comes soon enough (and was not lost: see grace).
_SCHEDULE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = now + tonumber(ARGV[1])
local pending = tonumber(redis.call('HGET', KEYS[1], 'flush_at') or '0')
if pending > now - tonumber(ARGV[2]) and pending <= due then return 0 end
redis.call('HSET', KEYS[1], 'flush_at', due)
return due
"""

# KEYS: state. ARGV: the due of the flush job that starts: it is no longer pending.
_STARTED = """
if redis.call('HGET', KEYS[1], 'flush_at') == ARGV[1] then
  return redis.call('HDEL', KEYS[1], 'flush_at')
end
return 0
"""

# KEYS: dead letters, dead letter data, outbox, msgs, state, delivered marker.
# ARGV: id, message JSON. Returns 1 if moved back to the outbox, 0 if not a dead letter.
_REVIVE = """
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[5], 'dead', 'blocked')
if redis.call('EXISTS', KEYS[6]) == 1 then return 1 end
if not redis.call('ZSCORE', KEYS[3], ARGV[1]) then
  local seq = redis.call('HINCRBY', KEYS[5], 'seq', 1)
  redis.call('ZADD', KEYS[3], seq, ARGV[1])
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
end
return 1
"""


@dataclass(frozen=True)
class Message:
    """One firing's message for one channel; `via` lists the dead channels it fell back from."""

    id: str
    firing: str
    title: str
    body: str
    via: tuple[str, ...] = ()

    def to_json(self) -> str:
        """Encode for the outbox (the rendered text only: never a URL)."""
        data: dict[str, Any] = {"id": self.id, "firing": self.firing, "title": self.title}
        data["body"] = self.body
        if self.via:
            data["via"] = list(self.via)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Message:
        """Decode what to_json() wrote."""
        data = json.loads(text)
        return cls(
            id=str(data["id"]),
            firing=str(data["firing"]),
            title=str(data["title"]),
            body=str(data["body"]),
            via=tuple(str(v) for v in data.get("via", ())),
        )


@dataclass(frozen=True)
class Take:
    """take()'s answer: "send" (with messages), "wait" or "busy" (for ms), or "empty"."""

    outcome: str
    wait_ms: int = 0
    messages: list[Message] = field(default_factory=list)
    dead: bool = False  # the channel is dead: this send gets one attempt


@dataclass(frozen=True)
class Limits:
    """How fast a channel may be sent to, and when bursts to it are coalesced."""

    rates: tuple[Rate, ...]
    digest_after: int
    digest_window_ms: int
    max_batch: int


class _Scripts:
    """The outbox scripts (registered once per client: see workers.state.registered)."""

    def __init__(self, client: redis.Redis) -> None:
        self.add = client.register_script(_ADD)
        self.take = client.register_script(_TAKE)
        self.done = client.register_script(_DONE)
        self.defer = client.register_script(_DEFER)
        self.fail = client.register_script(_FAIL)
        self.schedule = client.register_script(_SCHEDULE)
        self.started = client.register_script(_STARTED)
        self.revive = client.register_script(_REVIVE)


class Outbox:
    """One channel's waiting messages and delivery state in Redis."""

    def __init__(self, client: redis.Redis, channel: str) -> None:
        self.client = client
        self.channel = channel
        self.scripts = registered(client, _Scripts)
        self._keys = [keys.outbox(channel), keys.outbox_messages(channel)]
        self._keys.append(keys.channel_state(channel))

    def add(self, message: Message) -> int:
        """Queue a message unless it was sent, died or waits already (see the answers above)."""
        keys_, args = self._add_call(message)
        return int(self.scripts.add(keys=keys_, args=args, client=self.client))

    def add_many(self, messages: Sequence[Message]) -> list[int]:
        """add() each of `messages`, in order, in one round trip; return their answers."""

        def queue(pipe: Pipeline, loaded: bool) -> None:
            for message in messages:
                queue_script(pipe, self.scripts.add, *self._add_call(message), loaded)

        return [int(answer) for answer in run_pipelined(self.client, queue)]

    def _add_call(self, message: Message) -> tuple[list[str], list[str]]:
        """The add script's keys and arguments for `message`."""
        keys_ = [*self._keys, keys.delivered(message.id), keys.DEAD_LETTERS]
        return keys_, [message.id, message.to_json()]

    def take(self, token: str, limits: Limits, lock_ttl_ms: int) -> Take:
        """Hold the channel and return what may be sent now, or how long to wait."""
        rates = limits.rates
        periods = [round(rate.seconds * 1000) for rate in rates]
        own = [keys.channel_lock(self.channel), keys.alone_log(self.channel)]
        logs = [keys.send_log(self.channel, ms) for ms in periods]
        args: list[str | int] = [token, lock_ttl_ms, limits.digest_after]
        args += [limits.digest_window_ms, limits.max_batch]
        for rate, ms in zip(rates, periods, strict=True):
            args += [rate.count, ms]
        reply = self.scripts.take(keys=[*self._keys, *own, *logs], args=args, client=self.client)
        outcome = _text(reply[0])
        if outcome != "send":
            return Take(outcome, max(0, int(reply[1])))
        messages = [Message.from_json(raw) for raw in reply[3::2]]
        return Take("send", messages=messages, dead=bool(int(reply[1])))

    def done(self, ids: Sequence[str], marker_ttl_s: int) -> None:
        """Remove delivered messages and mark each delivered, in one step."""
        if ids:
            markers = [keys.delivered(i) for i in ids]
            self.scripts.done(
                keys=[*self._keys, *markers], args=[marker_ttl_s, *ids], client=self.client
            )

    def defer(self, wait_ms: int) -> None:
        """Send nothing to the channel for `wait_ms` (a 429's retry-after)."""
        self.scripts.defer(keys=self._keys, args=[wait_ms], client=self.client)

    def fail(
        self,
        ids: Sequence[str],
        error: str,
        *,
        permanent: bool,
        backoff_ms: Sequence[int],
        dead_for_ms: int,
        max_dead: int,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Count a failed attempt; return the (id, dead letter record) of those that died."""
        args: list[str | int] = [self.channel, error, int(permanent), 1 + len(backoff_ms)]
        args += [dead_for_ms, max_dead, len(backoff_ms), *backoff_ms, *ids]
        dead_keys = [keys.DEAD_LETTERS, keys.DEAD_LETTER_DATA]
        flat = self.scripts.fail(keys=[*self._keys, *dead_keys], args=args, client=self.client)
        return [(_text(flat[i]), json.loads(flat[i + 1])) for i in range(0, len(flat), 2)]

    def schedule(self, wait_ms: int, grace_ms: int) -> int:
        """Return the due (server ms) of a flush to schedule in `wait_ms`, 0 if one is due."""
        state = [keys.channel_state(self.channel)]
        return int(self.scripts.schedule(keys=state, args=[wait_ms, grace_ms], client=self.client))

    def started(self, due: int) -> None:
        """Note that the flush job due at `due` runs: a wait found now needs a new one."""
        state = [keys.channel_state(self.channel)]
        self.scripts.started(keys=state, args=[due], client=self.client)

    def revive(self, message: Message) -> bool:
        """Move a dead letter back into this outbox (False if it is not a dead letter)."""
        dead = [keys.DEAD_LETTERS, keys.DEAD_LETTER_DATA]
        marker = [keys.delivered(message.id)]
        return bool(
            self.scripts.revive(
                keys=[*dead, *self._keys, *marker],
                args=[message.id, message.to_json()],
                client=self.client,
            )
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
