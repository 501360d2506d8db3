"""Every price source end to end: the simulator's tickers (last, bid, ask), mark-price and
index-tickers through the real watcher (which subscribes what the rules watch) into Redis,
burst rq workers evaluating each source as a series of its own, apprise to a local channel."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages

RULES = """\
channels:
  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4"
rules:
  - name: btc-bid-up
    price: {market: BTC-USDT, source: bid, crosses_up: "60100"}
    notify: [inbox]
    message: "{source} {price} crossed {level} (bid {bid} ask {ask})"
  - name: btc-ask-up
    price: {market: BTC-USDT, source: ask, crosses_up: "60100"}
    notify: [inbox]
    message: "{source} {price} crossed {level} (bid {bid} ask {ask})"
  - name: btc-index-high
    price: {market: BTC-USDT, source: index, above: "60050"}
    notify: [inbox]
    message: "{source} {price} above {level}"
  - name: btc-mark-high
    price: {market: BTC-USDT, source: mark, above: "60100"}
    notify: [inbox]
    message: "{source} {price} above {level}"
"""


def test_each_source_is_subscribed_and_crosses_on_its_own(stack: Stack) -> None:
    clients = stack.sim_state()["clients"]
    (public,), (private,) = clients["public"], clients["private"]
    assert {"channel": "liquidation-warning", "instType": "ANY"} in private["subscriptions"]
    assert sorted((a["channel"], a["instId"]) for a in public["subscriptions"]) == [
        ("index-tickers", "BTC-USDT"),
        ("mark-price", "BTC-USDT"),
        ("tickers", "BTC-USDT"),
    ]
    # The simulator quotes bid and ask one tick (0.1) around the last price.
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "60100"})
    stack.work_until(lambda: len(messages(stack)) >= 2, 20, "the ask and index firings")
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "60100.1"})
    expected = [
        "ask 60100.1 crossed 60100 (bid 60099.9 ask 60100.1)",
        "bid 60100.0 crossed 60100 (bid 60100.0 ask 60100.2)",
        "index 60100 above 60050",
        "mark 60100.1 above 60100",
    ]
    stack.work_until(lambda: sorted(messages(stack)) == expected, 20, "a firing per source")
    first_two = sorted(messages(stack)[:2])
    assert first_two == ["ask 60100.1 crossed 60100 (bid 60099.9 ask 60100.1)", expected[2]]
