"""Evaluation lag: measured on a real Redis (the oldest entry not yet acked, read or not), and
reported by the monitor to the system stream, routed by a lag rule through a real rq burst
worker and apprise to the local inbox, once per episode and once more when caught up."""

from __future__ import annotations

import re
from typing import cast

import redis

from tests.integration.test_workers_harness import STREAM, Klaxon, stream_events
from tests.waiting import wait_until
from watcher import keys
from watcher.events import EvaluationLag, encode_ticks
from watcher.lag import backlogs
from watcher.monitor import Monitor, MonitorOptions

SETTLE = 0.2
OPTIONS = MonitorOptions(interval=0.05, settle=SETTLE, lag=(5.0,))


def server_ms(r: redis.Redis) -> int:
    seconds, micros = r.time()
    return int(seconds) * 1000 + int(micros) // 1000


def old_ticks(r: redis.Redis, stream: str, age_ms: int, n: int = 1) -> None:
    """XADD `n` ticks entries as the watcher writes them, stamped `age_ms` ago (by Redis's clock,
    which entry ids follow): entries nobody evaluated."""
    start = server_ms(r) - age_ms
    data = encode_ticks([("BTC-USDT", "last", "65000", "", "", start)])
    for i in range(n):
        r.xadd(stream, {b"k": b"ticks", b"v": b"okx", b"d": data}, id=f"{start}-{i}")


def ids(r: redis.Redis, stream: str) -> list[bytes]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    return [entry_id for entry_id, _ in entries]


def lag_events(r: redis.Redis) -> list[EvaluationLag]:
    return [e for e in stream_events(r, keys.SYSTEM_STREAM) if isinstance(e, EvaluationLag)]


def test_backlogs_count_what_the_group_has_not_acked(r: redis.Redis) -> None:
    fresh, unread, read, done = (f"s:{name}" for name in ("fresh", "unread", "read", "done"))
    r.xadd(fresh, {b"k": b"x"})  # no group: no evaluator ever looked, nothing to measure
    for stream in (unread, read, done):
        r.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)
        old_ticks(r, stream, 7_000, n=3)
    # Read by an evaluator that died before its XACK: pending, the oldest first.
    r.xreadgroup(keys.GROUP, keys.CONSUMER, {read: ">"}, count=2)
    r.xreadgroup(keys.GROUP, keys.CONSUMER, {done: ">"})
    r.xack(done, keys.GROUP, *ids(r, done))
    found = backlogs(r, [fresh, unread, read, done, "s:absent"])
    assert set(found) == {unread, read}
    assert found[unread].entries == 3
    assert found[read].entries == 3  # 2 pending + 1 never read
    for backlog in (found[unread], found[read]):
        assert 7.0 <= backlog.seconds < 9.0
    r.xack(read, keys.GROUP, *ids(r, read)[:2])
    (left,) = backlogs(r, [read]).values()
    assert left.entries == 1
    assert left.seconds >= 7.0


def test_a_lagging_stream_is_reported_once_then_caught_up(kx: Klaxon) -> None:
    kx.rules("  - name: lagging\n    lag: {seconds: 5, recovered: true}\n    notify: [desk]\n")
    old_ticks(kx.r, STREAM, 10_000, n=4)  # ten seconds old, and no evaluation queued
    monitor = Monitor(kx.r, [], [STREAM], OPTIONS)
    monitor.check()
    monitor.check()  # still lagging: nothing new to say
    (lagging,) = lag_events(kx.r)
    assert (lagging.stream, lagging.entries, lagging.recovered) == (STREAM, 4, False)
    assert 10.0 <= lagging.seconds < 30.0
    kx.work()  # evaluates the system stream (queued with the report), not the ticks
    (alert,) = kx.messages()
    assert re.fullmatch(
        rf"\[lagging\] evaluation of {STREAM} is [1-2]\ds behind \(4 entries waiting\)", alert
    )
    kx.kick(STREAM)
    kx.work()  # the ticks, evaluated at last
    assert backlogs(kx.r, [STREAM]) == {}

    def recovered() -> bool:
        monitor.check()
        return len(lag_events(kx.r)) == 2

    wait_until(recovered, 5, "the recovery, reported")
    over = lag_events(kx.r)[1]
    assert (over.recovered, over.since) == (True, lagging.since)
    kx.work()
    assert len(kx.messages()) == 2
    assert re.fullmatch(
        rf"\[lagging\] evaluation of {STREAM} caught up after [1-3]\ds", kx.messages()[1]
    )
    assert monitor.streams == [STREAM, keys.SYSTEM_STREAM]  # the system stream is watched too
