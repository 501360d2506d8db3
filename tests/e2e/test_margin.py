"""The margin kind on the whole spine: a position opened and closed with signed REST orders
on the simulator, OKX's positions and liquidation-warning pushes (documented frames, sent by
the simulator's /sim/inject where it computes no liquidation price of its own) through the
real watcher into Redis, burst rq workers, apprise to a local HTTP channel."""

from __future__ import annotations

import time

import orjson

from tests.documented import Documented
from tests.e2e.conftest import Stack, messages
from watcher.venues.okx import OkxRest

OKX = Documented("okx")
MARKETS = {"BTC-USDT": "60000", "BTC-USDT-SWAP": "60000"}
RULES = """\
channels:
  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4"
rules:
  - name: btc-moon  # never fires; the stack waits for its ticker subscription
    price: {market: BTC-USDT, above: "10000000"}
    notify: [inbox]
  - name: swap-opened
    margin: {account: main, market: BTC-USDT-SWAP, position: opened}
    notify: [inbox]
  - name: swap-closed
    margin: {account: main, market: BTC-USDT-SWAP, position: closed}
    notify: [inbox]
  - name: liq-near
    margin: {market: BTC-USDT-SWAP, liq_distance_below: "5%"}
    notify: [inbox]
  - name: liq-warning
    margin: {warning: true}
    notify: [inbox]
"""


def _push(stack: Stack, name: str, **item: str) -> None:
    """Send every private client a documented push, its one item changed by `item`."""
    frame = OKX.doc(name)
    frame["arg"]["uid"] = "44000000000000"
    frame["data"][0].update(item)
    stack.control("/sim/inject", {"feed": "private", "raw": orjson.dumps(frame).decode()})


def test_margin_rules_fire_on_the_accounts_position_pushes(stack: Stack) -> None:
    rest = stack.rest
    assert isinstance(rest, OkxRest)
    rest.place_order("BTC-USDT-SWAP", "buy", "market", "2", td_mode="cross")
    opened = "[swap-opened] okx/main BTC-USDT-SWAP: position opened: net 2 @ 60000"
    stack.work_until(lambda: opened in messages(stack), 20, "the opened position")
    now = str(int(time.time() * 1000))
    swap = {"instId": "BTC-USDT-SWAP", "instType": "SWAP", "posSide": "net", "pos": "2"}
    _push(stack, "okx_ws_positions_push.json", **swap, markPx="60000", liqPx="58200",
          cTime=now, uTime=now)  # fmt: skip
    _push(stack, "okx_ws_liquidation_warning_push.json", **swap, mgnRatio="1.02",
          markPx="58300", cTime=now, uTime=now)  # fmt: skip
    rest.place_order("BTC-USDT-SWAP", "sell", "market", "2", td_mode="cross", reduce_only=True)
    expected = [
        opened,
        "[liq-near] okx/main BTC-USDT-SWAP: liquidation 3.00% away (mark 60000, liq 58200),"
        " under 5%",
        "[liq-warning] okx/main BTC-USDT-SWAP: liquidation warning (margin ratio 1.02, mark 58300)",
        "[swap-closed] okx/main BTC-USDT-SWAP: position closed",
    ]
    stack.work_until(lambda: messages(stack) == expected, 20, "every margin firing")
