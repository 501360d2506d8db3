"""What an emulated order does when the venue fails or refuses: a 5xx then success, a timeout
after the order went through, a margin rejection, a risk refusal; and a trailing stop on a
scripted path. Each ends with the simulator holding exactly the orders expected."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.e2e.conftest import Stack, evaluated_at, messages, sim_orders, walk
from tests.waiting import wait_until
from watcher import keys
from workers import order_desk, order_state
from workers.order_desk import Desk
from workers.risk import RiskLimits
from workers.service import make_worker

RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: btc-stop
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    notify: [inbox]
  - name: eth-too-big
    stop: {market: ETH-USDT, account: main, side: sell, size: "1000", trigger: "2900"}
    notify: [inbox]
  - name: eth-trail
    trailing: {market: ETH-USDT, account: main, side: buy, size: "1", callback: "2%",
               activation: "2990"}
    notify: [inbox]
  - name: btc-trail
    trailing: {market: BTC-USDT, account: main, side: sell, size: "0.1", callback: "100",
               activation: "60300"}
    notify: [inbox]
"""
STOP_FILLED = "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 placed, filled 0.5 @ 59700"


def _scheduled(stack: Stack) -> list[str]:
    queue = Queue(keys.ORDERS_QUEUE, connection=stack.redis)
    return ScheduledJobRegistry(queue=queue).get_job_ids()  # type: ignore[no-untyped-call]


def test_a_5xx_then_success_places_one_order(stack: Stack, desk: Desk) -> None:
    stack.control("/sim/fail", {"mode": "5xx", "count": 1, "path": "/api/v5/trade/order"})
    walk(stack, "BTC-USDT", "59900", "59700")
    # The 503 left the outcome unknown: the retry (1 s later) looked the order up, found
    # none (a 5xx here carries nothing out), and placed it.
    stack.work_until(lambda: STOP_FILLED in messages(stack), 20, "the stop filled after a 5xx")
    [order] = sim_orders(stack)
    assert (order["side"], order["sz"], order["state"]) == ("sell", "0.5", "filled")
    assert not any("rejected" in m for m in messages(stack))


def test_a_timeout_after_sending_is_looked_up_never_sent_twice(stack: Stack, desk: Desk) -> None:
    order_desk.install(Desk({("okx", "main"): stack.venue.trading(timeout=0.5)}, partitions=4))
    # The venue takes the order but answers after 1.5 s: the client gave up at 0.5 s.
    stack.control(
        "/sim/fail", {"mode": "timeout", "count": 1, "hold": 1.5, "path": "/api/v5/trade/order"}
    )
    walk(stack, "BTC-USDT", "59900", "59700")
    stack.work_until(lambda: STOP_FILLED in messages(stack), 20, "the stop filled after a timeout")
    assert len(sim_orders(stack)) == 1


def test_a_margin_rejection_is_notified_and_never_retried(stack: Stack, desk: Desk) -> None:
    walk(stack, "ETH-USDT", "2950", "2880")
    rejected = (
        "[eth-too-big] stop ETH-USDT triggered at 2880, sell 1000 rejected: 51008_1000"
        " Order failed. Insufficient USDT balance in account"
    )
    stack.work_until(lambda: rejected in messages(stack), 20, "the rejection notified")
    walk(stack, "ETH-USDT", "2870", "2860")  # the rule fired once: nothing more is tried
    stack.work_until(lambda: True, 5, "a last burst")
    assert sim_orders(stack) == []
    assert _scheduled(stack) == []
    assert [m for m in messages(stack) if m.startswith("[eth-too-big]")] == [
        "[eth-too-big] stop ETH-USDT triggered at 2880 (last), placing sell 1000",
        rejected,
    ]
    assert stack.redis.hget(keys.STATS, keys.STAT_ORDERS_REJECTED) == b"1"


def test_a_risk_refusal_is_notified_and_never_sent(stack: Stack, desk: Desk) -> None:
    limits = RiskLimits(max_notional=Decimal(20000))  # 0.5 x 59700 = 29850
    order_desk.install(Desk({("okx", "main"): stack.rest}, partitions=4, risk=limits))
    walk(stack, "BTC-USDT", "59900", "59700")
    refused = (
        "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 rejected: risk notional 29850"
        " is over global max notional 20000"
    )
    stack.work_until(lambda: refused in messages(stack), 20, "the refusal notified")
    assert sim_orders(stack) == []
    [cid] = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    assert order_state.load(stack.redis, cid)["state"] == "rejected"


def test_a_trailing_stop_follows_the_low_and_buys_on_the_callback(stack: Stack, desk: Desk) -> None:
    # ETH starts at 3000: inactive until 2990 (low 2990), then low 2950: the stop is 2950 + 2%
    # = 3009, which 3008.9 does not reach and 3010 does.
    walk(stack, "ETH-USDT", "3100", "2990", "2950", "3000", "3008.9", "3010")
    filled = "[eth-trail] trailing stop ETH-USDT triggered at 3010, buy 1 placed, filled 1 @ 3010"
    stack.work_until(lambda: filled in messages(stack), 20, "the trailing stop filled")
    [order] = sim_orders(stack)
    assert (order["instId"], order["side"], order["sz"], order["ordType"]) == (
        "ETH-USDT", "buy", "1", "market",
    )  # fmt: skip
    stream = keys.ticks_stream(keys.partition("okx", "ETH-USDT", 4))
    [rule] = [r for r in stack.ruleset.rules() if r.name == "eth-trail"]
    assert stack.redis.hget(keys.kind_state(stream, "trailing"), rule.id) == b"fired"


def _retry_scheduled(stack: Stack, attempt: int) -> bool:
    queue = Queue(keys.ORDERS_QUEUE, connection=stack.redis)
    jobs = [queue.fetch_job(job_id) for job_id in _scheduled(stack)]
    return any(job is not None and job.args[1] == attempt for job in jobs)


def _walk_holding_retries(stack: Stack, *prices: str) -> None:
    """walk(), its burst workers without the scheduler: no retry runs until the last price is
    evaluated, however slow the machine."""
    worker_redis = redis.Redis.from_url(stack.redis_url)

    def evaluated(price: str) -> bool:
        make_worker(worker_redis).work(burst=True, with_scheduler=False)
        return evaluated_at(stack, "BTC-USDT", price)

    try:
        for price in prices:
            stack.control("/sim/price", {"instId": "BTC-USDT", "price": price})
            wait_until(partial(evaluated, price), 10, f"BTC-USDT at {price}")
    finally:
        worker_redis.close()


def test_a_trailing_retry_checks_the_latest_price_against_its_stop_level(
    stack: Stack, desk: Desk
) -> None:
    # High 60300, stop 60200: 60150 fires it (the trigger: 60200), and the order's 5xx leaves
    # it to a retry 1 s later, which finds no order and places it only if the latest price is
    # at or below 60200 then.
    walk(stack, "BTC-USDT", "60000", "60300")
    stack.control("/sim/fail", {"mode": "5xx", "count": 1, "path": "/api/v5/trade/order"})
    _walk_holding_retries(stack, "60150", "60250")  # back above the stop: it does not hold
    stack.work_until(lambda: _retry_scheduled(stack, 2), 20, "the first retry waited")
    assert sim_orders(stack) == []
    # Between the firing price and the stop level: the trigger holds again.
    _walk_holding_retries(stack, "60180")
    filled = (
        "[btc-trail] trailing stop BTC-USDT triggered at 60150, sell 0.1 placed, filled 0.1 @ 60180"
    )
    stack.work_until(lambda: filled in messages(stack), 20, "the retry placed it")
    [order] = sim_orders(stack)
    assert (order["side"], order["sz"], order["ordType"]) == ("sell", "0.1", "market")
    [cid] = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    assert order_state.load(stack.redis, cid)["trigger"] == "60200"
