"""OCO and bracket rules on the whole spine: the first leg the price reaches places its order
and the other is canceled; a bracket arms its exits on an entry fill, sized to it."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages, sim_orders, walk
from watcher import keys
from workers.order_desk import Desk

RULES = """\
channels:  # every transition is a message of its own: no digest
  inbox: {url: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4", digest: 100, rate: 100/s}
rules:
  - name: eth-oco
    oco:
      market: ETH-USDT
      account: main
      side: sell
      size: "2"
      take_profit: {trigger: "3100", price: "3095"}
      stop: {trigger: "2900"}
    notify: [inbox]
  - name: btc-bracket
    bracket: {market: BTC-USDT, account: main, entry: buy, take_profit: "1%", stop: "250"}
    notify: [inbox]
"""


def test_the_first_leg_wins_and_the_other_is_canceled(stack: Stack, desk: Desk) -> None:
    # 2950 and 3050 reach neither leg; 3120 reaches the take-profit; 2850 would reach the stop.
    walk(stack, "ETH-USDT", "2950", "3050", "3120", "2850")
    filled = (
        "[eth-oco] OCO (take-profit) ETH-USDT triggered at 3120, sell 2 limit 3095 placed,"
        " filled 2 @ 3120"
    )
    stack.work_until(lambda: filled in messages(stack), 20, "the take-profit leg filled")
    [order] = sim_orders(stack)
    assert (order["instId"], order["side"], order["sz"], order["ordType"], order["px"]) == (
        "ETH-USDT", "sell", "2", "limit", "3095",
    )  # fmt: skip
    assert order["clOrdId"].startswith("kx" + keys.rule_tag("eth-oco"))
    canceled = "[eth-oco] OCO (stop) ETH-USDT canceled: oco the take-profit leg fired first"
    assert messages(stack).count(canceled) == 1


def test_a_bracket_arms_on_its_entry_fill_sized_to_it(stack: Stack, desk: Desk) -> None:
    walk(stack, "BTC-USDT", "60000")
    # Two entry fills, 0.25 @ 60000 then 0.25 @ 60200: the exits close 0.5 around 60100.
    stack.rest.place_order("BTC-USDT", "buy", "market", "0.25", client_order_id="entry1")
    armed = (
        "[btc-bracket] bracket BTC-USDT armed: sell 0.25,"
        " entry 60000: take-profit at 60600, stop at 59750"
    )
    stack.work_until(lambda: armed in messages(stack), 20, "the exits armed")
    walk(stack, "BTC-USDT", "60200")
    stack.rest.place_order("BTC-USDT", "buy", "market", "0.25", client_order_id="entry2")
    grown = (
        "[btc-bracket] bracket BTC-USDT armed: sell 0.5,"
        " entry 60100: take-profit at 60701, stop at 59850"
    )
    stack.work_until(lambda: grown in messages(stack), 20, "the exits grown")
    # 60500 reaches neither exit; 59800 reaches the stop (at or below 59850).
    walk(stack, "BTC-USDT", "60500", "59800", "60900")
    filled = (
        "[btc-bracket] bracket (stop) BTC-USDT triggered at 59800, sell 0.5 placed,"
        " filled 0.5 @ 59800"
    )
    stack.work_until(lambda: filled in messages(stack), 20, "the stop exit filled")
    exits = [o for o in sim_orders(stack) if o["clOrdId"].startswith("kx")]
    assert [(o["side"], o["sz"], o["ordType"]) for o in exits] == [("sell", "0.5", "market")]
    canceled = "[btc-bracket] bracket (take-profit) BTC-USDT canceled: oco the stop leg fired first"
    assert canceled in messages(stack)
    assert stack.sim_state()["positions"]["BTC-USDT"]["pos"] == "0"
