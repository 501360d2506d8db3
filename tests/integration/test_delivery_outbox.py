"""The outbox scripts on a real Redis: once-only entry, sliding-window limits, one sender at a
time, alone-then-digest, attempts, dead letters and flush scheduling."""

from __future__ import annotations

import json

import redis

from rules.channel import Rate
from watcher import keys
from workers.outbox import (
    ADDED,
    ALREADY_DEAD,
    ALREADY_QUEUED,
    ALREADY_SENT,
    Limits,
    Message,
    Outbox,
)

TTL = 60_000


def _limits(*rates: Rate, digest_after: int = 1000, max_batch: int = 50) -> Limits:
    return Limits(tuple(rates), digest_after, 60_000, max_batch)


def _msg(n: int) -> Message:
    return Message(f"job-{n}", f"rule@s/1-{n}#0", "klaxon: rule", f"text {n}")


def _send(box: Outbox, limits: Limits, holder: str = "sender") -> list[str]:
    """Take as one sender, mark what it got delivered; return the ids."""
    take = box.take(holder, limits, TTL)
    assert take.outcome == "send", take
    ids = [m.id for m in take.messages]
    box.done(ids, 60)
    return ids


def test_a_message_enters_once_and_never_after_it_was_sent(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    assert box.add(_msg(1)) == ADDED
    assert box.add(_msg(1)) == ALREADY_QUEUED
    assert _send(box, _limits()) == ["job-1"]
    assert box.add(_msg(1)) == ALREADY_SENT
    assert r.exists(keys.delivered("job-1"))
    assert box.take("sender", _limits(), TTL).outcome == "empty"


def test_a_batch_enters_in_one_call_even_after_the_server_lost_its_scripts(
    r: redis.Redis,
) -> None:
    box = Outbox(r, "desk")
    assert box.add(_msg(1)) == ADDED
    r.script_flush()  # a restarted server's script cache is empty
    assert box.add_many([_msg(1), _msg(2), _msg(2)]) == [ALREADY_QUEUED, ADDED, ALREADY_QUEUED]
    assert _send(box, _limits(digest_after=0)) == ["job-1", "job-2"]
    assert box.add_many([_msg(2), _msg(3)]) == [ALREADY_SENT, ADDED]
    assert box.add_many([]) == []


def test_the_tightest_sliding_window_decides_the_wait(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    limits = _limits(Rate(count=2, seconds=1), Rate(count=3, seconds=10))
    for n in range(5):
        box.add(_msg(n))
    assert _send(box, limits) == ["job-0"]
    assert _send(box, limits) == ["job-1"]
    take = box.take("sender", limits, TTL)
    assert take.outcome == "wait"
    assert 900 < take.wait_ms <= 1000  # 2/s is full; 3/10s still has room
    assert not r.exists(keys.channel_lock("desk"))  # a waiting sender holds nothing

    tenth = Outbox(r, "ops")
    limits = _limits(Rate(count=3, seconds=10))
    for n in range(10, 14):
        tenth.add(_msg(n))
    for n in range(10, 13):
        assert _send(tenth, limits) == [f"job-{n}"]
    take = tenth.take("sender", limits, TTL)
    assert (take.outcome, 9000 < take.wait_ms <= 10_000) == ("wait", True)


def test_one_sender_at_a_time(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    box.add(_msg(1))
    box.add(_msg(2))
    assert box.take("a", _limits(), TTL).outcome == "send"
    busy = box.take("b", _limits(), TTL)
    assert busy.outcome == "busy"
    assert 0 < busy.wait_ms <= TTL
    assert box.take("a", _limits(), TTL).outcome == "send"  # the holder goes on


def test_after_the_first_sends_alone_everything_waiting_goes_as_one_digest(
    r: redis.Redis,
) -> None:
    box = Outbox(r, "desk")
    for n in range(9):
        box.add(_msg(n))
    limits = _limits(digest_after=2, max_batch=5)
    assert _send(box, limits) == ["job-0"]
    assert _send(box, limits) == ["job-1"]
    assert _send(box, limits) == [f"job-{n}" for n in range(2, 7)]  # at most max_batch
    assert _send(box, limits) == ["job-7", "job-8"]


def test_attempts_back_off_then_the_message_is_a_dead_letter(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    box.add(_msg(1))
    backoff = [1000, 5000]
    for attempt in (1, 2):
        assert box.take("s", _limits(), TTL).outcome == "send"
        died = box.fail(
            ["job-1"], "NotificationError", permanent=False, backoff_ms=backoff,
            dead_for_ms=600_000, max_dead=10,
        )  # fmt: skip
        assert died == []
        take = box.take("s", _limits(), TTL)
        assert take.outcome == "wait"
        assert backoff[attempt - 1] - 100 < take.wait_ms <= backoff[attempt - 1]
        r.hdel(keys.channel_state("desk"), "blocked")
    assert box.take("s", _limits(), TTL).outcome == "send"
    ((dead_id, record),) = box.fail(
        ["job-1"], "NotificationError", permanent=False, backoff_ms=backoff,
        dead_for_ms=600_000, max_dead=10,
    )  # fmt: skip
    assert dead_id == "job-1"
    assert (record["channel"], record["error"], record["attempts"]) == (
        "desk",
        "NotificationError",
        3,
    )
    assert json.loads(record["message"])["body"] == "text 1"
    assert box.take("s", _limits(), TTL).outcome == "empty"
    assert box.add(_msg(1)) == ALREADY_DEAD
    # The channel is dead now: the next message gets one attempt, then dies.
    box.add(_msg(2))
    assert box.take("s", _limits(), TTL).dead
    died = box.fail(
        ["job-2"], "NotificationError", permanent=False, backoff_ms=backoff,
        dead_for_ms=600_000, max_dead=10,
    )  # fmt: skip
    assert [i for i, _ in died] == ["job-2"]


def test_dead_letters_are_capped_oldest_first(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    for n in range(4):
        box.add(_msg(n))
        box.take("s", _limits(), TTL)
        box.fail(
            [f"job-{n}"], "ChannelRefused", permanent=True, backoff_ms=[1000],
            dead_for_ms=1, max_dead=3,
        )  # fmt: skip
    assert r.zrange(keys.DEAD_LETTERS, 0, -1) == [b"job-1", b"job-2", b"job-3"]
    assert sorted(r.hkeys(keys.DEAD_LETTER_DATA)) == [b"job-1", b"job-2", b"job-3"]


def test_a_revived_dead_letter_goes_back_once(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    box.add(_msg(1))
    box.take("s", _limits(), TTL)
    box.fail(
        ["job-1"], "ChannelRefused", permanent=True, backoff_ms=[1000],
        dead_for_ms=600_000, max_dead=10,
    )  # fmt: skip
    assert box.revive(_msg(1))
    assert not box.revive(_msg(1))
    assert not r.hexists(keys.channel_state("desk"), "dead")  # the user says: try it again
    assert _send(box, _limits(), "s") == ["job-1"]


def test_one_flush_is_scheduled_for_the_earliest_time_needed(r: redis.Redis) -> None:
    box = Outbox(r, "desk")
    first = box.schedule(5000, 5000)
    assert first > 0
    assert box.schedule(6000, 5000) == 0  # the pending one comes sooner: it will do
    earlier = box.schedule(1000, 5000)
    assert 0 < earlier < first
    # Once the flush due at `earlier` runs, a wait it finds needs a flush of its own.
    box.started(earlier)
    assert box.schedule(3000, 5000) > earlier
    # A flush due long ago that never ran was lost: the next wait schedules another.
    r.hset(keys.channel_state("ops"), "flush_at", 1)
    assert Outbox(r, "ops").schedule(3000, 5000) > 0
