"""A channel that dies (a local endpoint answering 403) is an event on the system stream: a
dead_letter rule routes it through a real rq burst worker and apprise to another local inbox,
once per death; the alert sent to the dead channel itself cannot loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from klaxon.cli import main
from tests.integration.test_workers_harness import FILL_EVERY, SECRET, Inbox, Klaxon, stream_events
from watcher import keys
from watcher.events import DeadLetterAlert
from workers import deadletter

DEAD = """\
  - name: dead
    dead_letter: {}
    notify: [ops, desk]
"""


@pytest.fixture
def ops() -> Iterator[Inbox]:
    inbox = Inbox()
    yield inbox
    inbox.close()


def alerts(r: redis.Redis) -> list[DeadLetterAlert]:
    found = stream_events(r, keys.SYSTEM_STREAM)
    return [e for e in found if isinstance(e, DeadLetterAlert)]


def ops_messages(ops: Inbox) -> list[str]:
    return [body["message"] for body in ops.accepted()]


def test_a_channel_that_dies_is_reported_once_per_death(
    kx: Klaxon, ops: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    kx.rules(FILL_EVERY + DEAD, f'  desk: "{{hook}}"\n  ops: "{ops.hook}"\n')
    kx.inbox.status = 403  # refused for good: the message dies at its first attempt
    kx.fill("t-1")
    kx.work_until(lambda: ops_messages(ops), 30, "the dead letter alert")
    kx.work()
    (alert,) = alerts(kx.r)
    assert (alert.channel, alert.error, alert.count) == ("desk", "ChannelRefused", 1)
    assert alert.firing.startswith("fills-")
    assert ops_messages(ops) == [
        "[dead] channel 'desk' is dead (ChannelRefused): 1 message(s) not delivered,"
        " see klaxon status"
    ]
    # The alert's copy to desk died too, desk being dead: no alert about it, no loop.
    assert deadletter.count(kx.r) == 2
    kx.fill("t-2")  # desk is still dead: its dead letter is counted, not alerted
    kx.work_until(lambda: deadletter.count(kx.r) == 3, 30, "the second dead letter")
    kx.work()
    assert len(alerts(kx.r)) == 1
    assert len(ops_messages(ops)) == 1
    assert kx.inbox.accepted() == []
    assert int(kx.r.hget(keys.STATS, keys.STAT_DEAD_LETTERS) or 0) == 3

    # Alive again (redelivered), then dead again: a new death, a new alert.
    kx.inbox.status = 200
    monkeypatch.setenv("KLAXON_REDIS_URL", kx.redis_url)
    assert main(["redeliver", "--all"]) == 0
    kx.work_until(lambda: len(kx.inbox.accepted()) >= 1, 30, "the redelivery")
    kx.inbox.status = 403
    kx.fill("t-3")
    kx.work_until(lambda: len(ops_messages(ops)) == 2, 30, "the second death's alert")
    assert len(alerts(kx.r)) == 2
    for body in (*kx.inbox.attempts, *ops.attempts):
        assert SECRET not in str(body)
