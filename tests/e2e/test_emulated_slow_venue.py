"""A venue slow to answer an emulated order's REST call holds up nothing else: the order is
sent from a sender thread, and the stream's next ticks are evaluated, and their alerts
delivered, while the call is held (workers/order_send.send_soon). The batch waits only until
the order's request has left, however long it may wait."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import pytest
import redis
from rq.job import Job

from tests.e2e.conftest import PARTITIONS, Stack, evaluated_at, messages, sim_orders, walk
from tests.waiting import wait_until
from watcher import keys
from workers import order_desk, order_send, order_state
from workers.order_desk import Desk
from workers.service import make_worker

RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-3e8a51d0", digest: 100, rate: 100/s}
rules:
  - name: btc-stop
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    notify: [inbox]
  - name: btc-low
    price: {market: BTC-USDT, crosses_down: "59600"}
    notify: [inbox]
    message: "{market} crossed {level} at {price}"
"""
LOW = "BTC-USDT crossed 59600 at 59500"
FILLED = "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 placed, filled 0.5 @ 59500"


@contextmanager
def _working(stack: Stack) -> Iterator[None]:
    """Burst workers, one after another on a thread of their own, until the block ends."""
    done = threading.Event()
    worker_redis = redis.Redis.from_url(stack.redis_url)

    def run() -> None:
        while not done.is_set():
            make_worker(worker_redis).work(burst=True, with_scheduler=True)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(30)
        worker_redis.close()


def _record(stack: Stack) -> str:
    """The client order id of the emulated order's record ("" before it exists)."""
    found = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    return found[0] if found else ""


def _hold_the_order(stack: Stack, hold: float, execute: bool) -> None:
    """Have the venue answer the order's call after `hold` s (having carried it out first if
    `execute`), to a client that waits 10 s; the market at 59900, above the stop."""
    order_desk.install(Desk({("okx", "main"): stack.venue.trading(timeout=10)}, PARTITIONS))
    walk(stack, "BTC-USDT", "59900")
    hang = {"mode": "timeout", "count": 1, "hold": hold, "execute": execute}
    stack.control("/sim/fail", hang | {"path": "/api/v5/trade/order", "method": "POST"})


def test_a_slow_answer_to_an_order_holds_up_no_later_tick(stack: Stack, desk: Desk) -> None:
    # The venue holds the order's call for 6 s, then fails it with a 5xx, having carried
    # nothing out; the client waits up to 10 s.
    _hold_the_order(stack, 6, execute=False)
    with _working(stack):
        stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59700"})
        cid = wait_until(partial(_record, stack), 10, "the stop triggered")
        stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59500"})
        wait_until(partial(evaluated_at, stack, "BTC-USDT", "59500"), 5, "the next tick")
        wait_until(lambda: LOW in messages(stack), 5, "the next tick's alert delivered")
        # Both while the order's call was still held.
        assert order_state.load(stack.redis, cid)["state"] == "triggered"
        assert sim_orders(stack) == []
    # The 5xx left the outcome unknown: the retry looked the order up, found none, placed it.
    stack.work_until(lambda: FILLED in messages(stack), 20, "the stop placed and filled")
    [order] = sim_orders(stack)
    assert (order["clOrdId"], order["state"]) == (cid, "filled")
    assert order_state.load(stack.redis, cid)["state"] == "filled"


def test_a_batch_goes_on_once_its_order_has_left_not_when_it_is_answered(
    stack: Stack, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The batch could wait 60 s for its order; the venue takes the order at once and holds
    # its answer 8 s (the client waits up to 10 s): its update on the private stream comes
    # first.
    monkeypatch.setattr(order_send, "SEND_WAIT_SECONDS", 60.0)
    _hold_the_order(stack, 8, execute=True)
    with _working(stack):
        stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59700"})
        cid = wait_until(partial(_record, stack), 10, "the stop triggered")
        wait_until(lambda: sim_orders(stack), 5, "the order at the venue")
        stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59500"})
        # Within the answer's 8 s: the batch went on when the order left.
        wait_until(partial(evaluated_at, stack, "BTC-USDT", "59500"), 5, "the next tick")
        wait_until(lambda: LOW in messages(stack), 2, "the next tick's alert delivered")
    filled = "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 placed, filled 0.5 @ 59700"
    stack.work_until(lambda: filled in messages(stack), 20, "the stop's fill notified")
    [order] = sim_orders(stack)
    assert (order["clOrdId"], order["state"]) == (cid, "filled")
    assert order_state.load(stack.redis, cid)["state"] == "filled"
    guard = Job.key_for(keys.place_job_id(cid, 1))
    wait_until(lambda: not stack.redis.exists(guard), 15, "the attempt to end with the answer")
    # Placed once, counted once: by the update that moved the record, not by the answer.
    assert stack.redis.hget(keys.STATS, keys.STAT_ORDERS_PLACED) == b"1"
