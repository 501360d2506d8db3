"""Inline placing: a batch's new orders attempted on the worker's sender threads.

The batch waits until their requests have left (a few ms at most, not for the answers), then
is acked and its job goes on evaluating; the answers are handled on the sender threads. Each
record has its guard (order_place.guard(), created with it): a worker that dies before an
attempt has ended leaves its order to the guard.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Final

import redis

from watcher import keys
from watcher.venues import http
from workers.order_desk import Desk
from workers.order_place import attempt, lease_ms
from workers.state import Scripts

log = logging.getLogger(__name__)

SENDERS: Final = 8  # the most orders of one worker in flight at once
# How long a batch waits for its orders' requests to leave before its stream goes on.
SEND_WAIT_SECONDS: Final = 0.025
# A worker process's GIL switch interval (`klaxon work`): a sender thread whose REST answer came
# waits this long at most while the job evaluates, not CPython's default 5 ms.
SWITCH_SECONDS: Final = 0.001


def send_soon(
    client: redis.Redis, desk: Desk | None, created: Sequence[tuple[str, dict[str, str], str]]
) -> None:
    """attempt() each of the records a batch just created, (client order id, record, lease
    token), on the sender threads, and wait up to SEND_WAIT_SECONDS until each order's request
    has left (or its attempt ended without one): while the caller waits, the senders have the
    interpreter to themselves, and no answer, slow or not, holds up the stream's next batches.
    Each record has its guard (order_place.guard()): a worker that dies before an attempt
    has ended leaves its order to the guard. A worker that stops (rq's warm shutdown) ends its
    sends first: the threads are joined as the process exits."""
    pool = _senders()
    queued = time.monotonic()
    left = []
    for cid, record, token in created:
        sent = threading.Event()
        future = pool.submit(_send_one, client, desk, cid, record, token, queued, sent)
        future.add_done_callback(functools.partial(_sent, cid))
        left.append(sent)
    deadline = queued + SEND_WAIT_SECONDS
    for sent in left:
        if not sent.wait(max(0.0, deadline - time.monotonic())):
            break


def _send_one(
    client: redis.Redis,
    desk: Desk | None,
    cid: str,
    record: dict[str, str],
    token: str,
    queued: float,
    sent: threading.Event,
) -> None:
    """attempt() a record just created, setting `sent` once its order's request has left (or
    the attempt ended without one); unless it waited for a sender (all busy with calls a venue
    is slow to answer) for half its lease: with its REST call's time on top, the lease, and
    then the guard, could run out while it is sent. It then lets go of the lease and goes as a
    retry does: the lease taken anew, the order looked up before it is sent."""
    waited = time.monotonic() - queued
    try:
        with http.on_sent(sent.set):
            if waited < lease_ms(desk) / 2000:
                attempt(client, desk, cid, created=record, token=token, guarded=True)
            else:
                log.info("order %s waited %.1f s for a sender: looked up first", cid, waited)
                Scripts.of(client).release(keys=[keys.order_lease(cid)], args=[token])
                attempt(client, desk, cid, retry=1, guarded=True)
    finally:
        sent.set()


def _sent(cid: str, future: Future[None]) -> None:
    failure = future.exception()
    if failure is not None:
        log.error("order %s: the attempt failed; its guard will check it", cid, exc_info=failure)


@functools.cache
def _senders() -> ThreadPoolExecutor:
    """The threads a worker sends orders with (REST calls wait on the network)."""
    return ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="klaxon-send")
