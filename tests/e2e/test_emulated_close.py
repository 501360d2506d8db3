"""close_position on a swap, on the whole spine: the stop's order is sized by the position the
venue holds when the trigger fires (read over signed REST from the simulator), reduce-only; with
no position to close it is rejected, notified, and nothing is sent."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages, sim_orders, walk
from workers.order_desk import Desk

MARKETS = {"BTC-USDT-SWAP": "60000", "ETH-USDT-SWAP": "3000"}
RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: btc-close
    stop: {market: BTC-USDT-SWAP, account: main, side: sell, close_position: true,
           trigger: "59800"}
    notify: [inbox]
  - name: eth-close
    stop: {market: ETH-USDT-SWAP, account: main, side: sell, close_position: true,
           trigger: "2900"}
    notify: [inbox]
"""


def _position(stack: Stack, market: str) -> str:
    held: str = stack.sim_state()["positions"].get(market, {}).get("pos", "0")
    return held


def test_close_position_sells_the_whole_position_held_at_the_trigger(
    stack: Stack, desk: Desk
) -> None:
    stack.rest.place_order("BTC-USDT-SWAP", "buy", "market", "1")
    walk(stack, "BTC-USDT-SWAP", "59900")
    stack.rest.place_order("BTC-USDT-SWAP", "buy", "market", "0.5")  # grown after arming
    walk(stack, "BTC-USDT-SWAP", "59700")
    filled = (
        "[btc-close] stop BTC-USDT-SWAP triggered at 59700, sell 1.5 placed, filled 1.5 @ 59700"
    )
    stack.work_until(lambda: filled in messages(stack), 20, "the close filled")
    orders = [(o["side"], o["sz"], o["ordType"], o["reduceOnly"]) for o in sim_orders(stack)]
    assert orders == [
        ("buy", "1", "market", False),
        ("buy", "0.5", "market", False),
        ("sell", "1.5", "market", True),
    ]
    assert _position(stack, "BTC-USDT-SWAP") == "0"
    sent = [m for m in messages(stack) if m.startswith("[btc-close]")]
    assert sent == [
        "[btc-close] stop BTC-USDT-SWAP triggered at 59700 (last), placing sell the position",
        "[btc-close] stop BTC-USDT-SWAP triggered at 59700, sell 1.5 placed",
        filled,
    ]


def test_close_position_with_nothing_held_is_rejected_and_nothing_is_sent(
    stack: Stack, desk: Desk
) -> None:
    walk(stack, "ETH-USDT-SWAP", "2950", "2880")
    rejected = (
        "[eth-close] stop ETH-USDT-SWAP triggered at 2880, sell the position rejected:"
        " no_position no position in ETH-USDT-SWAP to close"
    )
    stack.work_until(lambda: rejected in messages(stack), 20, "the rejection notified")
    walk(stack, "ETH-USDT-SWAP", "2870")  # fired once: nothing more is tried
    assert sim_orders(stack) == []
    assert [m for m in messages(stack) if m.startswith("[eth-close]")] == [
        "[eth-close] stop ETH-USDT-SWAP triggered at 2880 (last), placing sell the position",
        rejected,
    ]
