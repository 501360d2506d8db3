"""workers/waiting.py against a real Redis: which queued evaluate jobs wait for a worker."""

from __future__ import annotations

import redis
from rq import Queue

from watcher import keys
from watcher.publish import enqueue_evaluations
from workers.waiting import waiting

TICKS = keys.ticks_stream(0)
PRIVATE = keys.private_stream("okx", "main")


def test_a_queued_job_waits_only_while_nobody_holds_its_stream(r: redis.Redis) -> None:
    queues = [keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE]
    assert not waiting(r, queues)  # empty queues
    enqueue_evaluations(r, [TICKS, PRIVATE])
    assert waiting(r, queues)
    r.set(keys.lock(TICKS), "w1")
    assert waiting(r, queues)  # the private stream's job still waits
    r.set(keys.lock(PRIVATE), "w2")
    assert not waiting(r, queues)
    assert waiting(r, [keys.ACCOUNTS_QUEUE]) is False
    r.delete(keys.lock(TICKS))
    assert waiting(r, [keys.EVALUATE_QUEUE])


def test_a_job_id_names_its_stream_and_a_job_of_another_id_counts_as_waiting(
    r: redis.Redis,
) -> None:
    job_id = keys.evaluate_job_id(PRIVATE)
    assert bytes.fromhex(job_id.split("-")[1]).decode() == PRIVATE
    assert job_id != keys.evaluate_job_id(PRIVATE)  # a new id each time
    Queue(keys.EVALUATE_QUEUE, connection=r).enqueue_call(keys.EVALUATE_JOB, args=(TICKS,))
    r.set(keys.lock(TICKS), "w1")
    assert waiting(r, [keys.EVALUATE_QUEUE])  # an id of an earlier version's form: waiting
