"""The order kind on the whole spine: orders placed and canceled on the simulator over signed
REST, their `orders` pushes through the real watcher into Redis, burst rq workers evaluating
them, apprise delivering to a local HTTP channel."""

from __future__ import annotations

from tests.e2e.conftest import Stack, messages
from watcher import keys

RULES = """\
channels:
  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4"
rules:
  - name: btc-moon  # never fires; the stack waits for its ticker subscription
    price: {market: BTC-USDT, above: "10000000"}
    notify: [inbox]
  - name: kx-buy-limits-canceled
    order:
      venue: okx
      account: main
      market: BTC-USDT
      side: buy
      order_type: limit
      client_id_prefix: kx
      states: [canceled]
    notify: [inbox]
    message: "canceled {client_order_id}: {order_type} {side} {size} {market} @ {price}"
  - name: every-order
    order: {}
    notify: [inbox]
    message: "order {client_order_id} {state}"
"""


def test_an_order_rule_fires_only_on_the_updates_it_filters(stack: Stack) -> None:
    stack.control("/sim/price", {"instId": "BTC-USDT", "price": "60010.5"})
    rest = stack.rest
    rest.place_order("BTC-USDT", "buy", "limit", "0.1", price="50000", client_order_id="kx1")
    rest.place_order("BTC-USDT", "buy", "limit", "0.2", price="50000", client_order_id="zz2")
    rest.place_order("BTC-USDT", "buy", "market", "0.3", client_order_id="kx3")
    rest.cancel_order("BTC-USDT", client_order_id="zz2")  # canceled, but not a kx order
    rest.cancel_order("BTC-USDT", client_order_id="kx1")  # the one update the filters pass
    every = [
        "order kx1 live",
        "order zz2 live",
        "order kx3 filled",
        "order zz2 canceled",
        "order kx1 canceled",
    ]
    stack.work_until(
        lambda: sorted(m for m in messages(stack) if m.startswith("order ")) == sorted(every),
        20,
        "a message for every order update",
    )
    assert [m for m in messages(stack) if not m.startswith("order ")] == [
        "canceled kx1: limit buy 0.1 BTC-USDT @ 50000"
    ]
    private = keys.private_stream("okx", "main")
    assert stack.redis.xpending(private, keys.GROUP)["pending"] == 0
