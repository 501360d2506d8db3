"""The evaluator's Redis state: the stream lock and the batched firing claims (Lua)."""

from __future__ import annotations

import pytest
import redis

from rules.kinds import KindState
from watcher import keys
from workers.state import (
    NEW,
    REDELIVERED,
    TAKEN,
    ClaimRequest,
    Scripts,
    StreamLock,
    claim_firings,
    load_table,
    save_kind_state,
    save_last_prices,
)

STREAM = keys.ticks_stream(7)


def test_the_lock_is_exclusive_and_only_its_holder_renews_or_releases_it(r: redis.Redis) -> None:
    scripts = Scripts.of(r)
    first = StreamLock(r, scripts, STREAM, ttl_ms=5_000)
    second = StreamLock(r, scripts, STREAM, ttl_ms=60_000)
    assert first.acquire()
    assert not second.acquire()
    assert second.renew() == 0
    assert second.release() == 0
    assert r.get(keys.lock(STREAM)) == first.token.encode()
    assert r.pttl(keys.lock(STREAM)) <= 5_000
    r.pexpire(keys.lock(STREAM), 100)
    assert first.renew() == 1
    assert r.pttl(keys.lock(STREAM)) > 4_000
    assert first.release() == 1
    assert not r.exists(keys.lock(STREAM))
    assert second.acquire()


@pytest.mark.parametrize(
    ("holder", "ttl_ms", "status", "kept_by"),
    [
        (None, 0, NEW, "f-1"),  # once: claimed for good
        (None, 5_000, NEW, "f-1"),  # cooldown / per-event: claimed for the ttl
        ("f-1", 5_000, REDELIVERED, "f-1"),  # the same firing again: complete it
        ("f-0", 5_000, TAKEN, "f-0"),  # another firing holds it: skip
    ],
)
def test_a_claim_answers_by_who_holds_it(
    r: redis.Redis, holder: str | None, ttl_ms: int, status: int, kept_by: str
) -> None:
    key = keys.claim("rule-1")
    if holder is not None:
        r.set(key, holder, px=3_000)
    (result,) = claim_firings(r, Scripts.of(r), [ClaimRequest(key, "f-1", ttl_ms)])
    assert result.status == status
    assert r.get(key) == kept_by.encode()
    if holder is not None:
        assert 0 < result.remaining_ms <= 3_000  # the holder's claim is left as it was
    elif ttl_ms:
        assert result.remaining_ms == ttl_ms
        assert 0 < r.pttl(key) <= ttl_ms
    else:
        assert result.remaining_ms == -1
        assert r.pttl(key) == -1


def test_one_call_claims_a_whole_batch_in_order(r: redis.Redis) -> None:
    once, every = keys.claim("once-rule"), keys.claim("every-rule:t-1")
    requests = [
        ClaimRequest(once, "once-rule@1-0#0", 0),
        ClaimRequest(once, "once-rule@1-0#3", 0),  # a later crossing in the same batch
        ClaimRequest(every, "every-rule@1-0#0", 60_000),
    ]
    assert [c.status for c in claim_firings(r, Scripts.of(r), requests)] == [NEW, TAKEN, NEW]
    assert [c.status for c in claim_firings(r, Scripts.of(r), requests)] == [
        REDELIVERED,
        TAKEN,
        REDELIVERED,
    ]
    assert claim_firings(r, Scripts.of(r), []) == []


def test_claims_survive_a_script_cache_flush(r: redis.Redis) -> None:
    scripts = Scripts.of(r)
    r.script_flush()  # a Redis restart forgets loaded scripts: EVALSHA falls back to loading
    (result,) = claim_firings(r, scripts, [ClaimRequest(keys.claim("x"), "x@1-0#0", 0)])
    assert result.status == NEW


def test_last_prices_round_trip_as_exact_strings(r: redis.Redis) -> None:
    with r.pipeline() as pipe:
        save_last_prices(pipe, STREAM, {"okx|BTC-USDT|last": "65000.10", "okx|ETH|mark": "1E+3"})
        save_last_prices(pipe, STREAM, {})
        pipe.execute()
    assert load_table(r.hgetall(keys.last_prices(STREAM))) == {
        "okx|BTC-USDT|last": "65000.10",
        "okx|ETH|mark": "1E+3",
    }


def test_a_streams_state_hashes_are_hashtables_whatever_their_size(r: redis.Redis) -> None:
    # As a listpack (Redis's encoding of a hash under 512 fields of short values), every HSET
    # is linear in the hash's size: each batch's last prices cost Redis ~190 us, not ~7 us.
    assert r.config_get("hash-max-listpack-value") == {"hash-max-listpack-value": "64"}
    state = KindState()
    state.set("rule-1", "x:101.5")
    with r.pipeline() as pipe:
        save_last_prices(pipe, STREAM, {"okx|BTC-USDT|last": "65000.10"})
        save_kind_state(pipe, STREAM, "trailing", state)
        pipe.execute()
    for key in (keys.last_prices(STREAM), keys.kind_state(STREAM, "trailing")):
        assert r.object("encoding", key) == b"hashtable", key
    last = load_table(r.hgetall(keys.last_prices(STREAM)))
    assert last == {"okx|BTC-USDT|last": "65000.10"}
    assert load_table(r.hgetall(keys.kind_state(STREAM, "trailing"))) == {"rule-1": "x:101.5"}
    # The last field deleted takes the hash with it, as it did without the encoding's field.
    state.delete("rule-1")
    with r.pipeline() as pipe:
        save_kind_state(pipe, STREAM, "trailing", state)
        pipe.execute()
    assert not r.exists(keys.kind_state(STREAM, "trailing"))
