"""Crash safety: a real `klaxon work` process SIGKILLed at a control point (the test hook
KLAXON_TEST_KILL_AT) between winning the firing's claim and sending the order, or between
sending it and saving the venue's answer; or SIGKILLed while the venue's answer is awaited,
its batch acked already. Once the dead worker's stream lock (or the order's lease) has expired,
a new worker finishes the job: exactly one order exists on the simulator, filled and
notified."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import (
    API_KEY,
    PARTITIONS,
    PASSPHRASE,
    SECRET,
    Stack,
    messages,
    sim_orders,
)
from tests.waiting import wait_until
from watcher import keys
from workers import order_state
from workers.order_desk import Desk

ROOT = Path(__file__).resolve().parents[2]
RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: btc-stop
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    notify: [inbox]
"""
STREAM = keys.ticks_stream(keys.partition("okx", "BTC-USDT", PARTITIONS))
FILLED = "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 placed, filled 0.5 @ 59700"


def _worker_env(stack: Stack, kill_at: str = "", order_timeout: str = "1") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env.update(
        KLAXON_REDIS_URL=stack.redis_url,
        KLAXON_RULES=json.dumps([stack.ruleset.files[0].path]),
        KLAXON_PARTITIONS=str(PARTITIONS),
        KLAXON_LOG_LEVEL="WARNING",
        KLAXON_OKX_API_KEY=API_KEY,
        KLAXON_OKX_SECRET_KEY=SECRET,
        KLAXON_OKX_PASSPHRASE=PASSPHRASE,
        KLAXON_OKX_REST_URL=stack.sim.base_url,
        KLAXON_OKX_DEMO="true",
        KLAXON_TEST_KILL_AT=kill_at,
        KLAXON_ORDER_TIMEOUT=order_timeout,  # an attempt's lease: 2 x this + 2 s
        INBOX_PORT=str(stack.inbox.port),
    )
    return env


@pytest.mark.parametrize(("kill_at", "orders_at_death"), [("before_place", 0), ("after_place", 1)])
def test_a_worker_killed_mid_order_leaves_exactly_one_order(
    stack: Stack, desk: Desk, kill_at: str, orders_at_death: int
) -> None:
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59700"})
    wait_until(
        lambda: stack.redis.llen(keys.rq_queue(keys.EVALUATE_QUEUE)), 10, "an evaluation queued"
    )
    worker = subprocess.run(
        [sys.executable, "-m", "klaxon", "work", "--burst", "--name", "doomed"],
        env=_worker_env(stack, kill_at), cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.returncode == -signal.SIGKILL, worker.stderr[-2000:]
    assert len(sim_orders(stack)) == orders_at_death
    [cid] = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    assert order_state.load(stack.redis, cid)["state"] == "triggered"  # nothing saved after
    # The dead worker's lock on the stream runs out (10 s; its lease on the order, 4 s): the
    # watcher's kick queues the stream again.
    wait_until(lambda: not stack.redis.exists(keys.lock(STREAM)), 15, "the dead worker's lock")
    stack.work_until(lambda: FILLED in messages(stack), 20, "the order filled and notified")
    [order] = sim_orders(stack)
    assert (order["clOrdId"], order["side"], order["sz"], order["state"]) == (
        cid, "sell", "0.5", "filled",
    )  # fmt: skip
    assert order_state.load(stack.redis, cid)["state"] == "filled"
    assert messages(stack).count(FILLED) == 1
    assert stack.redis.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_worker_killed_awaiting_the_answer_after_its_batch_was_acked_leaves_one_order(
    stack: Stack, desk: Desk
) -> None:
    # The venue takes the order and answers 2.5 s later; the worker waits up to 3 s (its
    # attempt's lease: 8 s). It acks the batch without waiting for the answer, so when it dies
    # nothing is left to redeliver: the record's guard, due when the lease runs out, looks the
    # order up by client id and finds it.
    stack.control(
        "/sim/fail", {"mode": "timeout", "count": 1, "hold": 2.5, "path": "/api/v5/trade/order"}
    )
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "59700"})
    worker = subprocess.Popen(
        [sys.executable, "-m", "klaxon", "work", "--name", "doomed"],
        env=_worker_env(stack, order_timeout="3"), cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        cid = wait_until(lambda: _awaiting(stack), 20, "the order sent, its answer awaited")
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        worker.wait(10)
    assert order_state.load(stack.redis, cid)["state"] == "triggered"
    assert stack.redis.xpending(STREAM, keys.GROUP)["pending"] == 0
    stack.work_until(lambda: FILLED in messages(stack), 30, "the order found, filled, notified")
    [order] = sim_orders(stack)
    assert (order["clOrdId"], order["state"]) == (cid, "filled")
    assert messages(stack).count(FILLED) == 1


def _awaiting(stack: Stack) -> str:
    """The client order id of the stop's record once its batch is acked, its order is on the
    simulator, and the venue's answer is not yet saved ("" before)."""
    cids = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    if len(cids) != 1 or stack.redis.xpending(STREAM, keys.GROUP)["pending"]:
        return ""
    triggered = order_state.load(stack.redis, cids[0]).get("state") == "triggered"
    return cids[0] if triggered and sim_orders(stack) else ""
