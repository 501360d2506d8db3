"""Stop, stop-limit and take-profit rules on the whole spine: the simulator's prices through the
real watcher, burst rq workers placing the real orders over signed REST (inline), the orders'
updates back through the private feed, every transition notified through apprise."""

from __future__ import annotations

import time

from rq.job import Job
from rq.registry import ScheduledJobRegistry

from tests.e2e.conftest import Stack, messages, sim_orders, walk
from tests.waiting import wait_until
from watcher import keys
from workers import order_desk, order_state
from workers.order_desk import Desk

RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: tp-sell
    take_profit: {market: BTC-USDT, account: main, side: sell, size: "0.1", trigger: "60400",
                  price: "60390"}
    notify: [inbox]
  - name: stop-limit-buy
    stop: {market: BTC-USDT, account: main, side: buy, size: "0.3", trigger: "60700",
           price: "60710"}
    notify: [inbox]
  - name: stop-sell
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.2", trigger: "59800"}
    notify: [inbox]
  - name: tp-buy
    take_profit: {market: BTC-USDT, account: main, side: buy, size: "0.4", trigger: "59500"}
    notify: [inbox]
"""
# Each rule fires on one tick of this path: 60450 (tp-sell), 60750 (stop-limit-buy: its limit
# 60710 rests below the price), 59750 (stop-sell; the resting buy fills at 60710), 59400.
PATH = ["60100", "60450", "60750", "59750", "59400"]

FINAL = {
    "[tp-sell] take-profit BTC-USDT triggered at 60450, sell 0.1 limit 60390 placed,"
    " filled 0.1 @ 60450",
    "[stop-limit-buy] stop BTC-USDT triggered at 60750, buy 0.3 limit 60710 placed,"
    " filled 0.3 @ 60710",
    "[stop-sell] stop BTC-USDT triggered at 59750, sell 0.2 placed, filled 0.2 @ 59750",
    "[tp-buy] take-profit BTC-USDT triggered at 59400, buy 0.4 placed, filled 0.4 @ 59400",
}


TAGS = {
    name: "kx" + keys.rule_tag(name)
    for name in ("tp-sell", "stop-limit-buy", "stop-sell", "tp-buy")
}


def test_each_order_fires_at_its_price_places_one_order_and_is_notified(
    stack: Stack, desk: Desk
) -> None:
    walk(stack, "BTC-USDT", *PATH)
    stack.work_until(lambda: set(messages(stack)) >= FINAL, 20, "every order filled, notified")
    orders = [
        (o["clOrdId"][:10], o["side"], o["sz"], o["ordType"], o["px"]) for o in sim_orders(stack)
    ]
    assert orders == [
        (TAGS["tp-sell"], "sell", "0.1", "limit", "60390"),
        (TAGS["stop-limit-buy"], "buy", "0.3", "limit", "60710"),
        (TAGS["stop-sell"], "sell", "0.2", "market", ""),
        (TAGS["tp-buy"], "buy", "0.4", "market", ""),
    ]
    sent = messages(stack)
    assert "[stop-sell] stop BTC-USDT triggered at 59750 (last), placing sell 0.2" in sent
    assert "[stop-sell] stop BTC-USDT triggered at 59750, sell 0.2 placed" in sent
    assert len([m for m in sent if m.startswith("[stop-sell]")]) == 3  # each transition once
    # Each attempt ended with its order placed: its guard (a scheduled check) was taken away.
    guards = ScheduledJobRegistry(keys.ORDERS_QUEUE, connection=stack.redis)  # type: ignore[no-untyped-call]
    wait_until(lambda: guards.get_job_ids() == [], 5, "every guard taken away")
    for order in sim_orders(stack):
        assert not stack.redis.exists(Job.key_for(keys.place_job_id(order["clOrdId"], 1)))
        # When its request left (bench --orders' end of an order's latency): after the trigger.
        record = order_state.load(stack.redis, order["clOrdId"])
        assert int(record["_triggered_ms"]) <= int(record["_sent_ms"]) <= time.time() * 1000


def test_queued_placing_goes_through_the_orders_queue(stack: Stack, desk: Desk) -> None:
    order_desk.install(Desk({("okx", "main"): stack.rest}, partitions=4, inline=False))
    walk(stack, "BTC-USDT", "60100", "59750")
    done = "[stop-sell] stop BTC-USDT triggered at 59750, sell 0.2 placed, filled 0.2 @ 59750"
    stack.work_until(lambda: done in messages(stack), 20, "the queued order filled")
    [order] = sim_orders(stack)
    job = Job.fetch(keys.place_job_id(order["clOrdId"], 0), connection=stack.redis)
    assert (job.origin, job.get_status()) == (keys.ORDERS_QUEUE, "finished")
