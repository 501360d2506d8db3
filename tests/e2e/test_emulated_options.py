"""`hold` and `expires`/`for` on emulated orders, on the whole spine: the simulator pushes
tickers with the exchange times the test chooses (/sim/inject, an hour ahead of the clock)
through the real watcher into Redis, burst rq workers hold or expire the orders, the one order
is placed over signed REST, every transition is notified through apprise."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson

from tests.e2e.conftest import Stack, evaluated_at, messages, sim_orders
from watcher import keys
from workers import order_state
from workers.order_desk import Desk

BASE = (int(time.time()) + 3600) * 1000  # the injected ticks' exchange times start here
DEADLINE = datetime.fromtimestamp((BASE + 20_000) / 1000, UTC)
RULES = f"""\
channels:  # every transition is a message of its own: no digest
  inbox: {{url: "json://127.0.0.1:${{INBOX_PORT}}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}}
rules:
  - name: held
    stop: {{market: BTC-USDT, account: main, side: sell, size: "0.2", trigger: "59800"}}
    hold: 5s
    notify: [inbox]
  - name: expiring
    stop: {{market: ETH-USDT, account: main, side: sell, size: "1", trigger: "2900"}}
    expires: {DEADLINE:%Y-%m-%dT%H:%M:%SZ}
    notify: [inbox]
  - name: for-a-while
    take_profit: {{market: ETH-USDT, account: main, side: sell, size: "1", trigger: "3500"}}
    for: 10s
    notify: [inbox]
"""


def tick(stack: Stack, market: str, after_ms: int, price: str) -> None:
    """Push a ticker of `market` at BASE + `after_ms` (exchange time); wait until evaluated."""
    item = {"instId": market, "last": price, "bidPx": price, "askPx": price,
            "ts": str(BASE + after_ms)}  # fmt: skip
    frame = {"arg": {"channel": "tickers", "instId": market}, "data": [item]}
    stack.control("/sim/inject", {"feed": "public", "raw": orjson.dumps(frame).decode()})
    stack.work_until(lambda: evaluated_at(stack, market, price), 10, f"{market} at {price}")


def test_a_wick_shorter_than_the_hold_places_nothing_a_held_one_places_one(
    stack: Stack, desk: Desk
) -> None:
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "60000"})  # where it fills
    tick(stack, "BTC-USDT", 0, "60100")
    tick(stack, "BTC-USDT", 1000, "59700")  # the hold starts...
    tick(stack, "BTC-USDT", 3000, "59900")  # ...and a 2 s wick ends: reset
    tick(stack, "BTC-USDT", 9000, "59750")  # beyond again: a new hold
    tick(stack, "BTC-USDT", 13_999, "59650")  # 1 ms short of 5 s
    stack.work_until(lambda: True, 5, "the burst workers to drain")
    assert sim_orders(stack) == []
    assert not [m for m in messages(stack) if m.startswith("[held]")]
    tick(stack, "BTC-USDT", 14_000, "59600")  # held 5 s: fires
    filled = "[held] stop BTC-USDT triggered at 59600, sell 0.2 placed, filled 0.2 @ 60000"
    stack.work_until(lambda: filled in messages(stack), 20, "the held stop filled")
    tick(stack, "BTC-USDT", 30_000, "59500")
    [order] = sim_orders(stack)
    assert (order["side"], order["sz"], order["ordType"]) == ("sell", "0.2", "market")
    assert order["clOrdId"].startswith("kx" + keys.rule_tag("held"))
    assert len([m for m in messages(stack) if m.startswith("[held]")]) == 3  # each once


def test_an_armed_order_past_its_deadline_expires_once_and_never_places(
    stack: Stack, desk: Desk
) -> None:
    tick(stack, "ETH-USDT", 1000, "3000")
    tick(stack, "ETH-USDT", 19_999, "2950")
    stack.work_until(lambda: True, 5, "the burst workers to drain")
    assert not [m for m in messages(stack) if m.startswith("[expiring]")]
    tick(stack, "ETH-USDT", 20_000, "2990")  # the deadline: expired, on the safe side
    tick(stack, "ETH-USDT", 21_000, "2800")  # beyond its trigger, and the take-profit's
    expired = f"[expiring] stop ETH-USDT expired: not triggered by {DEADLINE:%Y-%m-%dT%H:%M:%S}"
    stack.work_until(
        lambda: (
            any(m.startswith(expired) for m in messages(stack))
            and any(
                m.startswith("[for-a-while] take-profit ETH-USDT expired") for m in messages(stack)
            )
        ),
        20,
        "both orders expired and notified",
    )
    tick(stack, "ETH-USDT", 22_000, "3600")
    stack.work_until(lambda: True, 5, "the burst workers to drain")
    assert sim_orders(stack) == []
    assert len([m for m in messages(stack) if m.startswith("[expiring]")]) == 1
    assert len([m for m in messages(stack) if m.startswith("[for-a-while]")]) == 1
    guard = stack.redis.get(keys.order_guard(_rule_id(stack, "expiring")))
    assert isinstance(guard, bytes)
    assert order_state.load(stack.redis, guard.decode())["state"] == "expired"


def _rule_id(stack: Stack, name: str) -> str:
    [rule] = [rule for rule in stack.ruleset.rules() if rule.name == name]
    return rule.id
