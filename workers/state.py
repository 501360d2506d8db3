"""Evaluator state in Redis: the per-stream lock, batched firing claims, last prices and the
stateful rule kinds' per-stream state.

Every check-and-set runs as a Lua script (EVALSHA through redis-py Script objects), so two
evaluators, a restart or a redelivered event can never both win the same claim.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError
from redis.typing import EncodableT, FieldT

from rules.kinds import KindState
from watcher import keys

# A claim's answer: what the evaluator does with the firing.
TAKEN: Final = 0  # another firing holds the claim: skip
NEW: Final = 1  # this firing just won the claim: notify
REDELIVERED: Final = 2  # this firing won it before (redelivered event): finish its notifications

T = TypeVar("T")

# A killed evaluator's stream waits this long for the next one; a live one renews every third.
LOCK_TTL_MS: Final = 10_000

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# For each KEYS[i]: ARGV[2i-1] = firing id, ARGV[2i] = ttl in ms (0 = no expiry).
# Returns a flat list: status, then the claim's remaining ms (-1 = no expiry).
_CLAIM = """
local out = {}
for i, key in ipairs(KEYS) do
  local firing = ARGV[2 * i - 1]
  local ttl = tonumber(ARGV[2 * i])
  local holder = redis.call('GET', key)
  if not holder then
    if ttl > 0 then
      redis.call('SET', key, firing, 'PX', ttl)
      out[#out + 1] = 1
      out[#out + 1] = ttl
    else
      redis.call('SET', key, firing)
      out[#out + 1] = 1
      out[#out + 1] = -1
    end
  else
    if holder == firing then out[#out + 1] = 2 else out[#out + 1] = 0 end
    out[#out + 1] = redis.call('PTTL', key)
  end
end
return out
"""


class Scripts:
    """The Lua scripts, registered once per client (EVALSHA, loaded again on NOSCRIPT)."""

    def __init__(self, client: redis.Redis) -> None:
        self.renew: Script = client.register_script(_RENEW)
        self.release: Script = client.register_script(_RELEASE)
        self.claim: Script = client.register_script(_CLAIM)

    @classmethod
    def of(cls, client: redis.Redis) -> Scripts:
        """Return the scripts registered for `client`, registering them on first use."""
        return registered(client, cls)


_Built = dict[Callable[[redis.Redis], Any], Any]
_registered: weakref.WeakKeyDictionary[redis.Redis, _Built] = weakref.WeakKeyDictionary()


def registered(client: redis.Redis, kind: Callable[[redis.Redis], T]) -> T:
    """Return `kind(client)` built once per client (a set of registered Lua scripts)."""
    built = _registered.setdefault(client, {})
    if kind not in built:
        built[kind] = kind(client)
    found: T = built[kind]
    return found


class StreamLock:
    """The lock that lets exactly one evaluator drain a stream (SET NX PX, token-checked)."""

    def __init__(
        self, client: redis.Redis, scripts: Scripts, stream: str, ttl_ms: int = LOCK_TTL_MS
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.key = keys.lock(stream)
        self.ttl_ms = ttl_ms
        # A fresh token per holding: a stale holder can never renew or release a new one's lock.
        self.token = uuid.uuid4().hex

    def acquire(self, pipe: Pipeline | None = None) -> Any:
        """Try to take the lock (True when taken; queued as a command when given a pipeline)."""
        target = pipe if pipe is not None else self.client
        return target.set(self.key, self.token, nx=True, px=self.ttl_ms)

    def renew(self, pipe: Pipeline | None = None) -> Any:
        """Extend the lock if it is still ours (1 when renewed, 0 when lost)."""
        return self.scripts.renew(
            keys=[self.key], args=[self.token, self.ttl_ms], client=pipe or self.client
        )

    def release(self, pipe: Pipeline | None = None) -> Any:
        """Drop the lock if it is still ours (1 when released)."""
        return self.scripts.release(keys=[self.key], args=[self.token], client=pipe or self.client)


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One firing to claim: the claim key, the firing id it stores, its TTL (0 = forever)."""

    key: str
    firing: str
    ttl_ms: int


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """A claim's answer (TAKEN, NEW or REDELIVERED) and its remaining ms (-1 = no expiry)."""

    status: int
    remaining_ms: int


def claim_firings(
    client: redis.Redis, scripts: Scripts, requests: Sequence[ClaimRequest]
) -> list[ClaimResult]:
    """Claim every firing of a batch in one Lua call, in order."""
    if not requests:
        return []
    return claim_results(
        scripts.claim(keys=[r.key for r in requests], args=_claim_args(requests), client=client)
    )


def queue_claims(
    pipe: Pipeline, scripts: Scripts, requests: Sequence[ClaimRequest], loaded: bool
) -> None:
    """Queue claim_firings()'s one Lua call into `pipe` (see queue_script); its reply goes to
    claim_results()."""
    queue_script(pipe, scripts.claim, [r.key for r in requests], _claim_args(requests), loaded)


def claim_results(flat: Sequence[Any]) -> list[ClaimResult]:
    """Return the claims' answers, in order, from the claim script's reply."""
    return [ClaimResult(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]


def _claim_args(requests: Sequence[ClaimRequest]) -> list[str | int]:
    args: list[str | int] = []
    for request in requests:
        args += [request.firing, request.ttl_ms]
    return args


def run_pipelined(client: redis.Redis, queue: Callable[[Pipeline, bool], None]) -> list[Any]:
    """Run the commands `queue` puts into a pipeline, in one round trip, scripts sent as EVALSHA
    (a Script in a pipeline costs a SCRIPT EXISTS round trip); when the server's script cache
    lacks one (a restart, a flush), once more with redis-py loading them. What ran the first
    time runs again, so every command must be safe to repeat (a claim won the first time then
    answers REDELIVERED). Return the replies; raise the first error."""
    for loaded in (True, False):
        with client.pipeline(transaction=False) as pipe:
            queue(pipe, loaded)
            replies: list[Any] = pipe.execute(raise_on_error=False)
        if loaded and any(isinstance(reply, NoScriptError) for reply in replies):
            continue
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies
    raise AssertionError("unreachable")  # pragma: no cover


def queue_script(
    pipe: Pipeline, script: Script, keys_: Sequence[str], args: Sequence[Any], loaded: bool
) -> None:
    """Queue one call of `script` for run_pipelined(): EVALSHA when the server is presumed to
    have it (`loaded`), else through redis-py, which loads it first."""
    if loaded:
        pipe.evalsha(script.sha, len(keys_), *keys_, *args)
    else:
        script(keys=list(keys_), args=list(args), client=pipe)


# A Redis hash is a listpack until it has more than hash-max-listpack-entries fields (512 by
# default) or a value longer than hash-max-listpack-value bytes (64), and HSET into a listpack
# is linear in its size: a batch's 50 last prices into a partition's 500 cost Redis 190 us, on
# the path of every batch, against 7 us into a hashtable (Redis 7.0). So each HSET of a
# stream's state also writes this field, its value longer than 64 bytes: Redis then stores the
# hash as a hashtable, and never converts it back. Loading the state leaves it out.
TABLE_FIELD: Final = "~table"
TABLE_VALUE: Final = "a value over 64 bytes keeps this hash a hashtable: see workers/state.py"


def load_table(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """Decode an HGETALL of a stream's state hash, saved with TABLE_FIELD, without that field:
    keys.last_prices() (field -> the exact price string) or keys.kind_state()."""
    fields = decode_hash(raw)
    fields.pop(TABLE_FIELD, None)
    return fields


def decode_hash(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """Decode an HGETALL answer to text fields and values."""
    if all(type(field) is bytes for field in raw) and all(type(v) is bytes for v in raw.values()):
        # A client without decode_responses: no call per field (a move-heavy stream's kind
        # state has tens of thousands of fields, decoded when a job cannot use the kept state).
        answer = cast(Mapping[bytes, bytes], raw)
        return {field.decode(): value.decode() for field, value in answer.items()}
    return {text_of(field): text_of(value) for field, value in raw.items()}


def text_of(value: bytes | str) -> str:
    """Return a Redis answer's bytes as text."""
    return value.decode() if isinstance(value, bytes) else value


def save_kind_state(pipe: Pipeline, stream: str, kind: str, state: KindState) -> None:
    """Queue the HSET and HDEL of what a stateful kind changed in its state for `stream`."""
    written, deleted = state.take()
    key = keys.kind_state(stream, kind)
    if written:
        _hset_table(pipe, key, written)
    if deleted:
        if not state.fields:
            deleted.append(TABLE_FIELD)  # nothing left: Redis deletes the hash, as before
        pipe.hdel(key, *deleted)


def save_last_prices(pipe: Pipeline, stream: str, changed: Mapping[str, str]) -> None:
    """Queue an HSET of the price series a batch changed."""
    if changed:
        _hset_table(pipe, keys.last_prices(stream), changed)


def _hset_table(pipe: Pipeline, key: str, fields: Mapping[str, str]) -> None:
    """Queue an HSET of `fields` and TABLE_FIELD into the hash `key`."""
    mapping: dict[FieldT, EncodableT] = {TABLE_FIELD: TABLE_VALUE}
    mapping.update(fields)
    pipe.hset(key, mapping=mapping)
