"""Notifications: retries with back-off on a dead channel, exactly-once delivery, dead letters,
and a channel's URL never in a log line, a job's error or a dead letter."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from rules.load import load_rules
from tests.integration.test_workers_harness import (
    CROSS_UP,
    FILL_EVERY,
    SECRET,
    Klaxon,
    harness,
)
from tests.waiting import wait_until
from watcher import keys
from workers import context, deadletter
from workers.delivery import BACKOFF_SECONDS


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def test_a_dead_channel_is_retried_with_backoff_then_dead_lettered_never_showing_its_url(
    kx: Klaxon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kx.rules(CROSS_UP)
    kx.inbox.status = 500
    kx.ticks("64990", "65010")
    kx.work()
    registry = _scheduled(kx)
    for attempt, interval in enumerate(BACKOFF_SECONDS, start=1):
        assert len(kx.inbox.posts) == attempt
        (flush_id,) = registry.get_job_ids()
        due = registry.get_scheduled_time(flush_id) - datetime.now(UTC)
        assert -0.5 < due.total_seconds() - interval < 1.5  # rounded up to whole seconds
        kx.fast_forward()
        kx.work()
    assert len(kx.inbox.posts) == 1 + len(BACKOFF_SECONDS)
    assert registry.get_job_ids() == []  # nothing left to retry
    (letter,) = deadletter.recent(kx.r)
    assert (letter.channel, letter.error, letter.attempts) == ("desk", "NotificationError", 6)
    assert letter.message.body == "BTC-USDT crossed above 65000 at 65010 (prev 64990)"
    assert "channel 'desk': delivery failed (JSON FAILURE; HTTP 500)" in caplog.text
    records = str(kx.r.hgetall(keys.DEAD_LETTER_DATA))
    for text in (caplog.text, records, letter.line()):
        assert SECRET not in text
        assert f":{kx.inbox.port}" not in text
    assert kx.inbox.accepted() == []
    assert not kx.r.exists(keys.delivered(letter.message.id))


def test_a_channel_that_recovers_gets_the_message_exactly_once(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.inbox.status = 500
    kx.ticks("64990", "65010")
    kx.work()
    (job_id,) = Queue(keys.NOTIFY_QUEUE, connection=kx.r).finished_job_registry.get_job_ids()
    job = Job.fetch(job_id, connection=kx.r)
    assert job.return_value() == ["queued"]  # the channel failed: it waits in the outbox
    ((message_id, *_),) = job.args[1]
    kx.inbox.status = 200
    kx.fast_forward()
    kx.work()
    assert kx.r.exists(keys.delivered(message_id))
    # Run again by hand (requeued from the failed registry; or a job of an older version,
    # one message per job): already sent, not resent.
    for func, args, outcome in (
        (keys.NOTIFY_MANY_JOB, ("desk", job.args[1]), ["already delivered"]),
        (keys.NOTIFY_JOB, ("desk", "t", "b", "f"), "already delivered"),
    ):
        again = Queue(keys.NOTIFY_QUEUE, connection=kx.r).enqueue(func, *args, job_id=message_id)
        kx.work()
        assert again.return_value() == outcome
    assert len(kx.messages()) == 1


def test_a_batchs_firings_reach_their_channel_in_one_job_each_message_once(kx: Klaxon) -> None:
    levels = ("65000", "65005", "65008")
    kx.rules("".join(CROSS_UP.replace("btc-up", f"up-{x}").replace("65000", x) for x in levels))
    kx.ticks("64990", "65010")  # one batch: the three rules fire
    kx.work()
    (job_id,) = Queue(keys.NOTIFY_QUEUE, connection=kx.r).finished_job_registry.get_job_ids()
    job = Job.fetch(job_id, connection=kx.r)
    assert job.func_name == keys.NOTIFY_MANY_JOB
    assert job.return_value() == ["delivered"] * 3
    sent = sorted(f"BTC-USDT crossed above {x} at 65010 (prev 64990)" for x in levels)
    assert sorted(kx.messages()) == sent
    ids = [message_id for message_id, *_ in job.args[1]]
    assert len(set(ids)) == 3
    assert all(kx.r.exists(keys.delivered(i)) for i in ids)
    # The job run again (a retry after its worker died, say): nothing is sent twice.
    again = Queue(keys.NOTIFY_QUEUE, connection=kx.r).enqueue(keys.NOTIFY_MANY_JOB, *job.args)
    kx.work()
    assert again.return_value() == ["already delivered"] * 3
    assert sorted(kx.messages()) == sent


def test_a_long_running_worker_process_retries_on_schedule_and_stops_on_sigterm(
    kx: Klaxon,
) -> None:
    paths = kx.rules(CROSS_UP)
    kx.inbox.failures = 1
    kx.ticks("64990", "65010")
    code = f"from workers.service import run_worker; run_worker({kx.redis_url!r}, {paths!r})"
    worker = subprocess.Popen(
        [sys.executable, "-c", f"from pathlib import PosixPath; {code}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # rq's scheduler (one forked child of the worker) re-queues the retry after 1 s.
        wait_until(lambda: kx.inbox.accepted(), timeout=15, every=0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=15)
    # rq keeps schedules in whole epoch seconds: the 1 s retry may come sooner than 1 s later.
    assert [status for _, status, _ in kx.inbox.posts] == [500, 200]
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]
    assert worker.returncode == 0, output.decode(errors="replace")
    assert SECRET.encode() not in output


def test_a_message_for_an_unknown_channel_is_a_dead_letter(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    job = Queue(keys.NOTIFY_QUEUE, connection=kx.r).enqueue(
        keys.NOTIFY_JOB, "nope", "t", "b", "f-1"
    )
    kx.work()
    assert job.return_value() == "dead letter"
    (letter,) = deadletter.recent(kx.r)
    assert (letter.channel, letter.error, letter.message.firing) == (
        "nope",
        "ChannelRefused",
        "f-1",
    )


def test_a_channel_url_apprise_cannot_use_is_dead_lettered_without_retries(
    kx: Klaxon, tmp_path: Path
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f'channels:\n  desk: "slack://{SECRET}"\nrules:\n{FILL_EVERY}')
    context.install(load_rules([path]))  # as a reload racing a URL change could leave it
    job = Queue(keys.NOTIFY_QUEUE, connection=kx.r).enqueue(
        keys.NOTIFY_JOB, "desk", "t", "b", "f-1", retry=Retry(max=5, interval=1)
    )
    kx.work()
    assert job.return_value() == "dead letter"
    (letter,) = deadletter.recent(kx.r)
    assert (letter.channel, letter.error, letter.attempts) == ("desk", "ConfigError", 1)
    assert SECRET not in str(kx.r.hgetall(keys.DEAD_LETTER_DATA))
    assert _scheduled(kx).get_job_ids() == []


def _scheduled(kx: Klaxon) -> ScheduledJobRegistry:
    queue = Queue(keys.NOTIFY_QUEUE, connection=kx.r)
    return ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
