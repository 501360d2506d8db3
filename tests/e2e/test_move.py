"""The move kind on the whole spine: the simulator's prices through the real watcher into
Redis, burst rq workers keeping each window in Redis, apprise to a local HTTP channel."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages

RULES = """\
channels:
  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4"
rules:
  - name: btc-pump
    move: {market: BTC-USDT, by: "3%", window: 5m, direction: up}
    notify: [inbox]
    message: "{market} {direction} {pct}% in {window}: {from} -> {price}"
  - name: btc-dump-500
    move: {market: BTC-USDT, by: 500, window: 1m, direction: down}
    notify: [inbox]
    message: "{market} {direction} {change} in {window}: {from} -> {price}"
  - name: witness  # fires on the last tick: everything before it was evaluated
    price: {market: BTC-USDT, crosses_up: "62900"}
    notify: [inbox]
    message: "witness {price}"
"""


def test_moves_fire_from_the_stream_once_per_cooldown(stack: Stack) -> None:
    # 60000 is the simulator's start: the window's low so far.
    path = {"market": "BTC-USDT", "prices": ["59500", "61000"], "interval": 0.05}
    stack.control("/sim/path", path)
    stack.work_until(lambda: messages(stack), 20, "the dump from 60000 to 59500")
    path = {"market": "BTC-USDT", "prices": ["61284", "61285", "62000"], "interval": 0.05}
    stack.control("/sim/path", path)
    expected = [
        "BTC-USDT down -500 in 1m: 60000 -> 59500",
        "BTC-USDT up 3.00% in 5m: 59500 -> 61285",
    ]
    stack.work_until(lambda: messages(stack) == expected, 20, "the pump from 59500")
    # The default cooldown (the window) keeps the rest of the pump quiet.
    stack.control("/sim/price", {"market": "BTC-USDT", "price": "63000"})
    stack.work_until(lambda: "witness 63000" in messages(stack), 20, "the last tick")
    assert messages(stack) == [*expected, "witness 63000"]
