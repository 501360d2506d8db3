"""pybit's own WebSocket client (which builds wss:// URLs only) against the Bybit simulator over
TLS, with a CA made at start: the public ticker stream merged by pybit, and the private stream
authenticated by pybit, fed by an order pybit places (over plain http: pybit's HTTP takes any
base URL).

pybit builds its WebSocket URLs from module templates (wss://{SUBDOMAIN}.{DOMAIN}.com/v5/...)
that no constructor argument can point at a local port: the test sets those templates to the
simulator's wss:// URLs, and nothing else of pybit's.

pybit records a subscription's req_id only after sending it, and its handler fails (KeyError)
on an ack whose req_id it has not recorded: over loopback the simulator's ack can win that race,
which the network's latency hides from real Bybit. Each WebSocket here is given, as its
`callback_function`, a hand-over that waits (condition and deadline) until pybit has recorded
the req_id, then passes the message to pybit's own handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pybit import unified_trading
from pybit.unified_trading import HTTP, WebSocket

from simulator import Simulator
from tests.integration.bybit_client import KEY, SECRET, bybit_config
from tests.integration.sim_client import _control
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def tls_bybit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """A Bybit simulator also serving wss://, trusted through its CA alone."""
    with Simulator(bybit_config(tls=True)) as sim:
        assert sim.certificates is not None
        ca = str(sim.certificates.write_ca(tmp_path / "ca.pem"))
        monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", ca)  # websocket-client's own variable
        root = sim.endpoint().wss_url("private").removesuffix("/v5/private")
        monkeypatch.setattr(unified_trading, "PUBLIC_WSS", root + "/v5/public/{CHANNEL_TYPE}")
        monkeypatch.setattr(unified_trading, "PRIVATE_WSS", root + "/v5/private")
        yield sim


def in_order(sockets: list[WebSocket]) -> Callable[[dict[str, Any]], None]:
    """A callback_function handing each message to pybit's own handler, a subscription's ack
    once pybit has recorded its req_id (`sockets` holds the WebSocket once it is built)."""

    def hand_over(message: dict[str, Any]) -> None:
        wait_until(lambda: sockets, 5, "pybit's WebSocket to be built")
        ws = sockets[0]
        req_id = message.get("req_id")
        if message.get("op") == "subscribe" and req_id:
            wait_until(lambda: req_id in ws.subscriptions, 5, "pybit to record its req_id")
        ws._handle_incoming_message(message)

    return hand_over


def test_pybit_merges_the_simulators_ticker_deltas(tls_bybit: Simulator) -> None:
    pushed: list[dict[str, Any]] = []
    sockets: list[WebSocket] = []
    ws = WebSocket(channel_type="linear", testnet=False, callback_function=in_order(sockets))
    sockets.append(ws)
    try:
        ws.ticker_stream(symbol="BTCUSDT", callback=pushed.append)
        wait_until(lambda: pushed, 10, "pybit's first ticker")
        first = dict(pushed[0]["data"])
        assert (first["lastPrice"], first["fundingRate"]) == ("60000", "0.0001")
        _control(tls_bybit, "price", {"market": "linear:BTCUSDT", "price": "60100.5"})
        wait_until(lambda: len(pushed) == 2, 10, "pybit's second ticker")
        merged = pushed[1]["data"]
        # The delta carried only what changed; pybit's merge gives back the whole ticker.
        assert set(merged) == set(first)
        assert (merged["lastPrice"], merged["bid1Price"], merged["ask1Price"]) == (
            "60100.5", "60100.4", "60100.6"
        )  # fmt: skip
        unchanged = {k for k, v in merged.items() if first[k] == v}
        assert {"prevPrice24h", "lowPrice24h", "fundingRate", "symbol"} <= unchanged
    finally:
        ws.exit()


def test_pybit_authenticates_and_reads_its_order_over_wss(tls_bybit: Simulator) -> None:
    orders: list[dict[str, Any]] = []
    executions: list[dict[str, Any]] = []
    sockets: list[WebSocket] = []
    ws = WebSocket(
        channel_type="private", testnet=False, api_key=KEY, api_secret=SECRET,
        callback_function=in_order(sockets),
    )  # fmt: skip
    sockets.append(ws)
    session = HTTP(api_key=KEY, api_secret=SECRET, max_retries=1)
    session.endpoint = tls_bybit.base_url
    try:
        ws.order_stream(callback=orders.append)
        ws.execution_stream(callback=executions.append)
        wait_until(lambda: ws.auth, 10, "pybit's auth")
        wait_until(
            lambda: len(tls_bybit_subscriptions(tls_bybit)) == 2, 10, "pybit's subscriptions"
        )
        placed = session.place_order(
            category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.02",
            orderLinkId="pybit-wss-1",
        )["result"]  # fmt: skip
        wait_until(lambda: orders and executions, 10, "the order and its execution")
        (order,) = orders[0]["data"]
        (execution,) = executions[0]["data"]
        assert (order["orderId"], order["orderLinkId"], order["orderStatus"]) == (
            placed["orderId"], "pybit-wss-1", "Filled"
        )  # fmt: skip
        assert (execution["orderId"], execution["execQty"], execution["execPrice"]) == (
            placed["orderId"], "0.02", "60000"
        )  # fmt: skip
    finally:
        ws.exit()
        session.client.close()


def tls_bybit_subscriptions(sim: Simulator) -> list[str]:
    """The topics the simulator's private clients are subscribed to."""
    state = _control(sim, "state")
    return [s["topic"] for c in state["clients"]["private"] for s in c["subscriptions"]]
