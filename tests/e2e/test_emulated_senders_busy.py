"""More orders fire at once than a worker has sender threads, and the venue is slow to answer
the first ones: the last order waits for a sender past half its lease, so it is sent as a retry
is, the lease taken anew and the order looked up first (order_send._send_one). Every order is
placed exactly once."""

from __future__ import annotations

import logging

import pytest

from tests.e2e.conftest import PARTITIONS, Stack, sim_orders, walk
from watcher import keys
from workers import order_desk, order_state
from workers.order_desk import Desk
from workers.order_send import SENDERS

STOPS = SENDERS + 1
STOP = '{market: BTC-USDT, account: main, side: sell, size: "0.1", trigger: "59800"}'
RULES = (
    'channels:\n  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-6d0c93a2"\nrules:\n'
    + "".join(f"  - name: stop-{n}\n    stop: {STOP}\n    notify: [inbox]\n" for n in range(STOPS))
)


def _filled(stack: Stack) -> int:
    cids = [k.decode().split(":")[2] for k in stack.redis.scan_iter(keys.emulated("*"))]
    return sum(order_state.load(stack.redis, cid).get("state") == "filled" for cid in cids)


def test_an_order_that_waited_for_a_sender_is_looked_up_then_placed_once(
    stack: Stack, desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    # Leases of 4 s; the venue holds the first SENDERS calls 2.5 s (the client waits 3 s), so
    # the last order starts after half its lease.
    trader = stack.venue.trading(timeout=3)
    order_desk.install(Desk({("okx", "main"): trader}, PARTITIONS, lease_ms=4000))
    walk(stack, "BTC-USDT", "59900")
    held = {"mode": "timeout", "count": SENDERS, "hold": 2.5, "execute": True}
    stack.control("/sim/fail", held | {"path": "/api/v5/trade/order", "method": "POST"})
    with caplog.at_level(logging.INFO, logger="workers.order_send"):
        walk(stack, "BTC-USDT", "59700")
        stack.work_until(lambda: _filled(stack) == STOPS, 30, "every stop filled")
    waited = [r for r in caplog.records if "for a sender" in r.getMessage()]
    assert len(waited) == 1
    orders = sim_orders(stack)
    assert len(orders) == STOPS
    assert len({o["clOrdId"] for o in orders}) == STOPS
