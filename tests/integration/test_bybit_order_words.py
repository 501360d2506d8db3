"""Bybit's order words reach the rules as the canonical ones, end to end: the Bybit simulator
(which speaks Bybit: Market, Filled) -> klaxon's watcher -> Redis -> real rq burst workers ->
apprise -> the local inbox. An `order` rule filtered on `states: [filled]` and
`order_type: market` fires on a Bybit fill, and an emulated stop's real order, filled on Bybit,
moves its record from placed to filled (and is notified so)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulator import Simulator
from tests.integration.bybit_client import bybit_env
from tests.integration.sim_client import _control, _state
from tests.integration.test_bybit_wired import watching_all
from tests.integration.test_workers_harness import harness
from tests.integration.wired import build, running
from tests.waiting import wait_until
from watcher import keys
from workers import order_desk, order_state
from workers.order_desk import Desk

pytestmark = pytest.mark.timeout(60)
MARKET = "linear:BTCUSDT"
RULES = """\
  - name: bybit-stop
    stop: {venue: bybit, market: "linear:BTCUSDT", account: main, side: sell, size: "0.01",
           trigger: "59900"}
    notify: [desk]
  - name: bybit-filled
    order: {venue: bybit, account: main, states: [filled], order_type: market}
    notify: [desk]
    message: "order {client_order_id}: {order_type} {side} {size} {market} {state}"
"""


@pytest.fixture
def no_desk() -> Iterator[None]:
    """Whatever desk a test installs is gone afterwards."""
    yield
    order_desk.uninstall()


def test_an_order_rule_on_filled_fires_on_bybit_and_the_emulated_stop_ends_filled(
    bybit_sim: Simulator,
    redis_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_desk: None,
) -> None:
    with harness(redis_url, tmp_path) as kx:
        (rules,) = kx.rules(RULES)
        env = {
            "KLAXON_REDIS_URL": redis_url,
            "KLAXON_ACCOUNTS": json.dumps([{"venue": "bybit", "account": "main"}]),
        } | bybit_env(bybit_sim)
        (account,), watchers = build(monkeypatch, env, rules)
        order_desk.install(Desk({("bybit", "main"): account.venue.trading()}))
        with running(watchers):
            wait_until(lambda: watching_all(bybit_sim), 10, "the tickers and the private feed")
            _control(
                bybit_sim, "path", {"market": MARKET, "prices": ["60000", "59850"], "interval": 0.2}
            )
            wait_until(lambda: _state(bybit_sim)["prices"][MARKET] == "59850", 5, "the path")

            kx.work_until(lambda: sim_orders(bybit_sim), 20, "the stop's order on the venue")
            (order,) = sim_orders(bybit_sim)
            cid = order["clOrdId"]
            assert cid.startswith(keys.CLIENT_ID_PREFIX)

            def ended() -> bool:
                return order_state.load(kx.r, cid).get("state") == "filled" and any(
                    m.startswith("order kx") for m in kx.messages()
                )

            kx.work_until(ended, 20, "the order rule fired and the stop's record filled")
    messages = kx.messages()
    assert f"order {cid}: market sell 0.01 {MARKET} filled" in messages
    record = order_state.load(kx.r, cid)
    assert (record["state"], record["filled"]) == ("filled", "0.01")
    assert (
        "[bybit-stop] stop linear:BTCUSDT triggered at 59850, sell 0.01 placed,"
        " filled 0.01 @ 59850" in messages
    )


def sim_orders(sim: Simulator) -> list[dict[str, Any]]:
    """Every order the simulator accepted, oldest first."""
    history: list[dict[str, Any]] = _state(sim)["history"]
    return history
