"""Several emulated orders fire on one tick: their records are created together and their real
orders sent at once (workers/order_send.send_soon); each is placed exactly once, and one the
venue rejects leaves the others placed and filled."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages, sim_orders, walk
from watcher import keys
from workers import order_state
from workers.order_desk import Desk

RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-5b1f02c7", digest: 100, rate: 100/s}
rules:
  - name: stop-a
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.1", trigger: "59900"}
    notify: [inbox]
  - name: stop-b
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.2", trigger: "59850"}
    notify: [inbox]
  - name: stop-c
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.3", trigger: "59800"}
    notify: [inbox]
  - name: too-big
    stop: {market: BTC-USDT, account: main, side: sell, size: "100000", trigger: "59800"}
    notify: [inbox]
"""
PLACED = {"stop-a": "0.1", "stop-b": "0.2", "stop-c": "0.3"}


def test_orders_of_one_tick_are_each_placed_once_and_a_rejection_stays_its_own(
    stack: Stack, desk: Desk
) -> None:
    walk(stack, "BTC-USDT", "60000", "59700")  # one tick reaches all four triggers
    filled = {
        f"[{name}] stop BTC-USDT triggered at 59700, sell {size} placed, filled {size} @ 59700"
        for name, size in PLACED.items()
    }
    rejected = "[too-big] stop BTC-USDT triggered at 59700, sell 100000 rejected: 51008_1000"
    stack.work_until(
        lambda: (
            filled <= set(messages(stack)) and any(m.startswith(rejected) for m in messages(stack))
        ),
        20,
        "three orders filled and one rejected, each notified",
    )
    tags = {"kx" + keys.rule_tag(name): name for name in [*PLACED, "too-big"]}
    orders = sorted((tags[o["clOrdId"][:10]], o["sz"]) for o in sim_orders(stack))
    assert orders == sorted(PLACED.items())  # one each; the rejected one never accepted
    states = {
        tags[o["clOrdId"][:10]]: order_state.load(stack.redis, o["clOrdId"])["state"]
        for o in sim_orders(stack)
    }
    assert states == dict.fromkeys(PLACED, "filled")
    assert stack.redis.hget(keys.STATS, keys.STAT_ORDERS_PLACED) == b"3"
    assert stack.redis.hget(keys.STATS, keys.STAT_ORDERS_REJECTED) == b"1"
