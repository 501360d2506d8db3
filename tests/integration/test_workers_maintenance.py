"""A running worker re-queues, within seconds, the notification a killed worker held.

A worker killed with SIGKILL while it runs a notify job leaves that job STARTED in rq's started
registry, before the message reached the channel's outbox. Only rq's maintenance re-queues it
(and takes over a dead worker's scheduler): every 10 minutes by default, so the alert came
10 minutes late or later. The chaos soak (bench/chaos.py) found it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

from tests.integration.test_workers_harness import CROSS_UP, STREAM, Klaxon, harness
from tests.waiting import wait_until
from watcher import keys
from watcher.publish import enqueue_evaluations
from workers.service import MAINTENANCE_SECONDS, make_worker


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def _abandon(kx: Klaxon, queue: Queue, job_id: str) -> None:
    """Leave `job_id` as a worker killed while running it does: out of its queue, STARTED,
    in the started registry with its time up."""
    queue.remove(job_id)
    Job.fetch(job_id, connection=kx.r).set_status(JobStatus.STARTED)
    registry = StartedJobRegistry(queue=queue)
    kx.r.zadd(registry.key, {f"{job_id}:killed-worker": time.time() - 1})


@pytest.mark.timeout(120)
def test_a_running_worker_requeues_the_job_a_killed_worker_held(kx: Klaxon) -> None:
    assert MAINTENANCE_SECONDS <= 15
    kx.rules(CROSS_UP)
    kx.ticks("64990", "65010")
    make_worker(kx.r, queues=[keys.EVALUATE_QUEUE]).work(burst=True)
    notify = Queue(keys.NOTIFY_QUEUE, connection=kx.r)
    [job_id] = notify.job_ids

    worker = make_worker(kx.r)
    running = threading.Thread(target=worker.work, kwargs={"max_idle_time": 2})
    stop = threading.Event()

    def keep_busy() -> None:
        # A worker runs its maintenance between jobs: evaluations keep coming, as the
        # watcher's kicks make them come in production.
        while True:
            enqueue_evaluations(kx.r, [STREAM])
            if stop.wait(0.3):  # a pacing interval that ends the pump at once when told
                return

    pump = threading.Thread(target=keep_busy)
    try:
        pump.start()
        running.start()
        # Its first maintenance runs at start; the job is abandoned after it.
        wait_until(lambda: worker.last_cleaned_at is not None, 20, "the worker's first cleaning")
        _abandon(kx, notify, job_id)
        started = time.monotonic()
        wait_until(
            lambda: (
                Job.fetch(job_id, connection=kx.r).get_status()
                in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.FINISHED)
            ),
            MAINTENANCE_SECONDS * 4,
            "the abandoned notification to be re-queued",
        )
        assert time.monotonic() - started < MAINTENANCE_SECONDS * 4
    finally:
        stop.set()
        pump.join()
        running.join(30)
    assert not running.is_alive()
