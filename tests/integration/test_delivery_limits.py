"""Delivery to a local chat endpoint through real apprise and real rq workers: the channel's
rate holds (arrival times measured by the server), a 429's retry-after is honoured without using
up attempts, and a burst is coalesced into one digest holding every firing exactly once."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.integration.test_workers_harness import (
    FILL_EVERY,
    SECRET,
    Klaxon,
    harness,
    in_threads,
)
from tests.waiting import wait_until
from watcher import keys
from workers import deadletter
from workers.notify import THROTTLED_DEFAULT_SECONDS
from workers.service import make_worker

# How much earlier than the limit allows a message may reach the server: the limit is taken on
# Redis's clock before the send, the arrival stamped after apprise built and posted it.
SLACK = 0.3
TRADE = re.compile(r"trade (t-\d+)")


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def _arrivals(kx: Klaxon) -> list[float]:
    return [at for at, status, _ in kx.inbox.posts if status == 200]


def _trades(kx: Klaxon) -> Counter[str]:
    return Counter(t for message in kx.messages() for t in TRADE.findall(message))


def test_a_channel_never_gets_more_than_its_rate(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY, '  desk: {url: "{hook}", rate: 2/s, digest: 1000}\n')
    for n in range(6):
        kx.fill(f"t-{n}")
    kx.work_until(lambda: len(_arrivals(kx)) == 6, timeout=30, what="six deliveries")
    arrivals = _arrivals(kx)
    # Any three arrivals in a row span the 1 s window: never a third within it.
    spans = [later - first for first, later in zip(arrivals, arrivals[2:], strict=False)]
    assert min(spans) >= 1 - SLACK, spans
    assert _trades(kx) == Counter(f"t-{n}" for n in range(6))  # each once, none coalesced
    assert all(status == 200 for _, status, _ in kx.inbox.posts)


def test_three_workers_at_once_share_the_channels_rate(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY, '  desk: {url: "{hook}", rate: 2/s, digest: 1000}\n')
    for n in range(8):
        kx.fill(f"t-{n}")

    def work() -> None:
        client = redis.Redis.from_url(kx.redis_url)
        try:
            make_worker(client).work(burst=True, with_scheduler=True)
        finally:
            client.close()

    def three_at_once() -> bool:
        in_threads(3, work)
        return len(_arrivals(kx)) == 8

    wait_until(three_at_once, timeout=30, what="eight deliveries", every=0.02)
    arrivals = _arrivals(kx)
    spans = [later - first for first, later in zip(arrivals, arrivals[2:], strict=False)]
    assert min(spans) >= 1 - SLACK, spans
    assert _trades(kx) == Counter(f"t-{n}" for n in range(8))


def test_a_429_is_honoured_for_its_retry_after_and_uses_no_attempt(kx: Klaxon) -> None:
    # The Bot API's path shape, on the local server: /bot<token>/sendMessage.
    url = f"json://127.0.0.1:{kx.inbox.port}/bot123456:{SECRET}/sendMessage"
    kx.rules(FILL_EVERY, f'  desk: {{url: "{url}", rate: 10/s}}\n')
    kx.inbox.throttled = 2
    kx.inbox.retry_after = 2
    kx.fill("t-1")
    kx.work_until(lambda: kx.inbox.accepted(), timeout=30, what="the delivery after two 429s")
    attempts = kx.inbox.posts
    assert [status for _, status, _ in attempts] == [429, 429, 200]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(attempts)]
    assert min(gaps) >= 2 - 0.05, gaps  # blocked from the answer on: no slack needed
    assert kx.inbox.received[0]["path"] == f"bot123456:{SECRET}/sendMessage"
    assert _trades(kx) == Counter(["t-1"])
    assert deadletter.count(kx.r) == 0
    assert kx.r.hget(keys.STATS, "throttled") == b"2"


def test_more_429s_than_attempts_never_make_a_dead_letter(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY)
    kx.inbox.throttled = 8  # more than the 6 attempts a failing message gets
    kx.inbox.retry_after = 60
    kx.fill("t-1")
    kx.work()
    for n in range(2, 10):
        assert len(kx.inbox.posts) == n - 1
        kx.fast_forward()  # instead of waiting out 60 s
        kx.work()
    assert [status for _, status, _ in kx.inbox.posts] == [429] * 8 + [200]
    assert deadletter.count(kx.r) == 0
    assert _trades(kx) == Counter(["t-1"])


def test_a_429_without_retry_after_backs_off_the_default(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY)
    kx.inbox.throttled = 1
    kx.inbox.retry_after = None  # neither the header nor Telegram's parameters.retry_after
    kx.fill("t-1")
    kx.work()
    queue = Queue(keys.NOTIFY_QUEUE, connection=kx.r)
    registry = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    (flush_id,) = registry.get_job_ids()
    due = (registry.get_scheduled_time(flush_id) - datetime.now(UTC)).total_seconds()
    assert THROTTLED_DEFAULT_SECONDS - 1 < due <= THROTTLED_DEFAULT_SECONDS + 1
    assert kx.inbox.accepted() == []


def test_a_burst_goes_out_as_the_first_messages_then_one_digest_of_the_rest(
    kx: Klaxon,
) -> None:
    kx.rules(FILL_EVERY, '  desk: {url: "{hook}", rate: 2/s, digest: 3}\n')
    trades = [f"t-{n:02d}" for n in range(12)]
    for trade in trades:
        kx.fill(trade)
    kx.work_until(lambda: len(_trades(kx)) == 12, timeout=30, what="all twelve fills")
    bodies = kx.inbox.accepted()
    assert len(bodies) == 4
    assert [b["title"] for b in bodies] == ["klaxon: fills"] * 3 + ["klaxon: 9 alerts"]
    digest = bodies[3]["message"].splitlines()
    assert len(digest) == 9
    assert all(line.startswith("• fills: buy 0.010 BTC-USDT @ 65000.1") for line in digest)
    assert _trades(kx) == Counter(trades)  # every fill exactly once, alone or in the digest
    assert kx.r.hget(keys.STATS, "digests") == b"1"
