"""An order rule renamed or removed by a reload while its order rests on the venue (PLACED):
its record still follows the real order by client order id, and the fill is notified to the
channel the rule had, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.load import load_rules
from tests.e2e.conftest import Stack, messages, sim_orders, walk
from workers import order_state
from workers.order_desk import Desk
from workers.service import load as load_worker_rules

CHANNELS = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
"""
RULES = (
    CHANNELS
    + """\
rules:
  - name: btc-tp
    take_profit: {market: BTC-USDT, account: main, side: sell, size: "0.1", trigger: "60400",
                  price: "60500"}
    notify: [inbox]
"""
)
RELOADED = {
    "removed": """\
rules:
  - name: btc-up
    price: {market: BTC-USDT, crosses_up: "70000"}
    notify: [inbox]
""",
    "renamed": """\
rules:
  - name: btc-tp-renamed
    take_profit: {market: BTC-USDT, account: main, side: sell, size: "0.1", trigger: "65000",
                  price: "65100"}
    notify: [inbox]
""",
}
PLACED = "[btc-tp] take-profit BTC-USDT triggered at 60450, sell 0.1 limit 60500 placed"
FILLED = PLACED + ", filled 0.1 @ 60500"


@pytest.mark.parametrize("change", sorted(RELOADED))
def test_a_placed_order_whose_rule_a_reload_took_away_still_fills_and_is_notified(
    stack: Stack, desk: Desk, tmp_path: Path, change: str
) -> None:
    walk(stack, "BTC-USDT", "60100", "60450")  # fires: a sell limit at 60500 rests
    stack.work_until(lambda: PLACED in messages(stack), 20, "the order placed")
    [order] = sim_orders(stack)
    cid = order["clOrdId"]
    path = tmp_path / "reloaded.yaml"
    path.write_text(CHANNELS + RELOADED[change])
    load_worker_rules(load_rules([path], env={"INBOX_PORT": str(stack.inbox.port)}))

    walk(stack, "BTC-USDT", "60550")  # the resting limit fills
    stack.work_until(lambda: FILLED in messages(stack), 20, "the fill notified")
    assert order_state.load(stack.redis, cid)["state"] == "filled"
    assert len(sim_orders(stack)) == 1
    walk(stack, "BTC-USDT", "60560")
    stack.work_until(lambda: True, 3, "a last burst")
    assert messages(stack).count(FILLED) == 1
