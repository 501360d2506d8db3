"""An account whose API key the watcher's audit found read-only: its emulated orders are
refused (REJECTED, code "key") and notified; nothing is sent to the venue."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages, sim_orders, walk
from workers.order_desk import Desk

SIM_PERM = "read_only"  # what the simulator says the key may do
RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: btc-stop
    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    notify: [inbox]
"""


def test_a_read_only_key_refuses_the_order(stack: Stack, desk: Desk) -> None:
    walk(stack, "BTC-USDT", "59900", "59700")
    refused = (
        "[btc-stop] stop BTC-USDT triggered at 59700, sell 0.5 rejected: key account okx/main:"
        " its API key is read-only (no trade permission)"
    )
    stack.work_until(lambda: refused in messages(stack), 20, "the refusal notified")
    assert sim_orders(stack) == []
