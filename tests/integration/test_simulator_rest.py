"""The simulator's REST API and private WebSocket, driven by python-okx and websocket-client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from okx import Trade
from okx import utils as okx_utils
from okx.websocket import WsUtils

from simulator import Simulator
from tests.integration.sim_client import (
    KEY,
    PASSPHRASE,
    SECRET,
    UID,
    Frame,
    _channel,
    _connect,
    _control,
    _fixture,
    _http,
    _logged_in,
    _recv,
    _recv_until,
    _signed_post,
    _state,
    _subscribe,
)
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.timeout(20),
    # python-okx posts its body with an argument httpx deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


# --- REST --------------------------------------------------------------------------------------


def test_python_okx_places_market_and_limit_orders(sim: Simulator, trade: Any) -> None:
    fixture = _fixture("okx_rest_place_order_response.json")
    market = trade.place_order(
        instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.01"
    )
    assert market["code"] == "0", market
    assert market.keys() == fixture.keys()
    assert market["data"][0].keys() == fixture["data"][0].keys()
    assert market["data"][0]["sCode"] == "0"
    assert market["data"][0]["ordId"].isdigit()
    assert all(isinstance(v, str) for v in market["data"][0].values())

    limit = trade.place_order(
        instId="BTC-USDT", tdMode="cash", side="buy", ordType="limit", sz="0.02", px="59000.5",
        clOrdId="lim1",
    )  # fmt: skip
    assert limit["code"] == "0", limit
    assert limit["data"][0]["clOrdId"] == "lim1"
    resting = _state(sim)["orders"]
    assert [(o["clOrdId"], o["px"], o["state"]) for o in resting] == [("lim1", "59000.5", "live")]

    _control(sim, "price", {"instId": "BTC-USDT", "price": "59000.4"})
    state = _state(sim)
    assert state["orders"] == []
    assert state["positions"]["BTC-USDT"]["pos"] == "0.03"
    assert state["fills"] == 2


def test_public_time_needs_no_auth(sim: Simulator) -> None:
    status, body = _http(f"{sim.base_url}/api/v5/public/time")
    assert status == 200
    assert body["code"] == "0"
    assert abs(int(body["data"][0]["ts"]) - time.time() * 1000) < 5000


def _stale() -> str:
    return (datetime.now(UTC) - timedelta(seconds=45)).isoformat(timespec="milliseconds")[:-6] + "Z"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"secret": "not-the-secret"}, "50113"),
        ({"timestamp": "stale"}, "50102"),
        ({"key": "other-key"}, "50111"),
        ({"passphrase": "other-pass"}, "50105"),
    ],
)
def test_rest_refuses_bad_credentials(sim: Simulator, overrides: dict[str, str], code: str) -> None:
    if overrides.get("timestamp") == "stale":
        overrides = {"timestamp": _stale()}
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1"}
    status, answer = _signed_post(sim, "/api/v5/trade/order", body, **overrides)
    assert (status, answer["code"]) == (401, code)
    assert SECRET not in json.dumps(answer)
    assert _state(sim)["fills"] == 0


def test_python_okx_with_wrong_secret_gets_50113(sim: Simulator) -> None:
    api = Trade.TradeAPI(KEY, "wrong", PASSPHRASE, flag="1", domain=sim.base_url, debug=False)
    try:
        answer = api.place_order(
            instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="1"
        )
    finally:
        api.close()
    assert answer["code"] == "50113"


def test_duplicate_clordid_among_pending_orders_is_refused(sim: Simulator, trade: Any) -> None:
    def place() -> Frame:
        return trade.place_order(  # type: ignore[no-any-return]
            instId="ETH-USDT", tdMode="cash", side="sell", ordType="limit", sz="1", px="3500",
            clOrdId="dup7",
        )  # fmt: skip

    assert place()["data"][0]["sCode"] == "0"
    second = place()
    assert second["code"] == "1"
    assert (second["data"][0]["sCode"], second["data"][0]["sMsg"]) == (
        "51016",
        "Client order ID already exists.",  # OKX's error-code table
    )

    cancel = trade.cancel_order(instId="ETH-USDT", clOrdId="dup7")
    assert cancel["data"][0]["sCode"] == "0"
    assert place()["data"][0]["sCode"] == "0"  # reusable once the first one is done
    unknown = trade.cancel_order(instId="ETH-USDT", ordId="123")
    assert unknown["data"][0]["sCode"] == "51603"


@pytest.mark.parametrize(
    ("params", "s_code"),
    [
        ({"ordType": "post_only", "px": "1"}, "51000"),
        ({"clOrdId": "has-dash"}, "51000"),
        ({"clOrdId": "x" * 33}, "51000"),
        ({"sz": "1e3"}, "51000"),
        ({"instId": "DOGE-USDT"}, "51001"),
    ],
)
def test_bad_order_params_get_an_scode(sim: Simulator, params: Frame, s_code: str) -> None:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "1"}
    status, answer = _signed_post(sim, "/api/v5/trade/order", body | params)
    assert (status, answer["code"], answer["data"][0]["sCode"]) == (200, "1", s_code)


# --- private websocket -------------------------------------------------------------------------


def test_ws_login_with_sdk_signature_succeeds(sim: Simulator) -> None:
    ws = _connect(sim.ws_private_url)
    ws.send(WsUtils.initLoginParams(False, KEY, PASSPHRASE, SECRET))
    answer = _recv(ws)
    ws.close()
    assert answer.keys() == _fixture("okx_ws_login_success.json").keys()
    assert (answer["event"], answer["code"], answer["msg"]) == ("login", "0", "")
    wait_until(lambda: _state(sim)["connected"]["private"] == 0, what="the client is gone")


def _login_frame(
    *, secret: str = SECRET, passphrase: str = PASSPHRASE, key: str = KEY, timestamp: object = None
) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    sign = okx_utils.sign(f"{stamp}GET/users/self/verify", secret).decode()
    arg = {"apiKey": key, "passphrase": passphrase, "timestamp": stamp, "sign": sign}
    return json.dumps({"op": "login", "args": [arg]})


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (lambda: WsUtils.initLoginParams(False, KEY, PASSPHRASE, "wrong-secret"), "60009"),
        (lambda: _login_frame(timestamp=str(int(time.time()) - 45)), "60006"),
        (lambda: _login_frame(timestamp="soon"), "60004"),
        (lambda: _login_frame(timestamp=str(int(time.time() * 1000))), "60004"),  # ms, not s
        (lambda: _login_frame(key="other"), "60005"),
        (lambda: _login_frame(passphrase="other"), "60024"),
    ],
)
def test_ws_login_refusals(sim: Simulator, frame: Callable[[], str], code: str) -> None:
    ws = _connect(sim.ws_private_url)
    ws.send(frame())
    answer = _recv(ws)
    ws.close()
    assert (answer["event"], answer["code"]) == ("error", code)
    if code == "60009":
        assert answer.keys() == _fixture("okx_ws_login_failure.json").keys()
        assert answer["msg"] == "Login failed."
    assert _state(sim)["loggedIn"] == 0


def test_private_subscribe_before_login_gets_60011(sim: Simulator) -> None:
    ws = _connect(sim.ws_private_url)
    ws.send(json.dumps({"id": "7", "op": "subscribe", "args": [{"channel": "account"}]}))
    answer = _recv(ws)
    ws.close()
    assert (answer["event"], answer["code"], answer["id"]) == ("error", "60011", "7")


def test_orders_channel_carries_the_fill_after_a_market_order(sim: Simulator, trade: Any) -> None:
    ws = _logged_in(sim)
    _subscribe(ws, {"channel": "orders", "instType": "ANY"}, {"channel": "account"})
    ack = _recv(ws)
    assert (ack["event"], ack["arg"]) == ("subscribe", {"channel": "orders", "instType": "ANY"})
    snapshot = _recv_until(ws, _channel("account"))
    assert snapshot["eventType"] == "snapshot"
    assert snapshot["data"][0]["totalEq"] == "100000"

    placed = trade.place_order(
        instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.01", clOrdId="m1"
    )
    push = _recv_until(ws, _channel("orders"))
    fixture = _fixture("okx_ws_orders_push.json")
    order = push["data"][0]
    assert push["arg"] == {"channel": "orders", "instType": "ANY", "uid": UID}
    assert order.keys() == fixture["data"][0].keys()
    assert order["ordId"] == placed["data"][0]["ordId"]
    assert order["tradeId"].isdigit()
    expected = {
        "clOrdId": "m1", "instType": "SPOT", "state": "filled", "execType": "T",
        "fillPx": "60000", "fillSz": "0.01", "accFillSz": "0.01", "avgPx": "60000",
        "fillFee": "-0.6", "fillFeeCcy": "USDT", "side": "buy", "ordType": "market",
    }  # fmt: skip
    assert {k: order[k] for k in expected} == expected
    assert int(order["fillTime"]) >= int(order["cTime"])

    account = _recv_until(ws, _channel("account"))
    ws.close()
    assert account["eventType"] == "event_update"
    assert account["data"][0]["details"][0]["cashBal"] == "99999.4"


def test_limit_order_rests_then_fills_as_maker_with_position_update(
    sim: Simulator, trade: Any
) -> None:
    ws = _logged_in(sim)
    _subscribe(
        ws, {"channel": "orders", "instType": "SWAP"}, {"channel": "positions", "instType": "ANY"}
    )
    empty = _recv_until(ws, _channel("positions"))
    assert (empty["eventType"], empty["data"]) == ("snapshot", [])

    trade.place_order(
        instId="BTC-USDT-SWAP", tdMode="cross", side="sell", ordType="limit", sz="2", px="60020"
    )
    live = _recv_until(ws, _channel("orders"))["data"][0]
    assert (live["state"], live["tradeId"], live["fillSz"]) == ("live", "", "0")

    _control(sim, "price", {"instId": "BTC-USDT-SWAP", "price": "60020.5"})
    filled = _recv_until(ws, _channel("orders"))["data"][0]
    position = _recv_until(ws, _channel("positions"))
    ws.close()
    assert (filled["state"], filled["execType"], filled["fillPx"]) == ("filled", "M", "60020")
    assert Decimal(filled["fillFee"]) == -Decimal("60020") * 2 * Decimal("0.0008")
    assert position["eventType"] == "event_update"
    held = position["data"][0]
    assert (held["instType"], held["pos"], held["avgPx"], held["posSide"]) == (
        "SWAP", "-2", "60020", "net",
    )  # fmt: skip
    assert held.keys() == _fixture("okx_ws_positions_push.json")["data"][0].keys()


def test_pushes_of_orders_placed_back_to_back_keep_their_order(sim: Simulator, trade: Any) -> None:
    """The simulator answers a placement before it pushes it (Venue.publish_soon): the pushes
    still come, each once, in the order the orders were taken."""
    ws = _logged_in(sim)
    _subscribe(ws, {"channel": "orders", "instType": "ANY"})
    _recv(ws)  # the subscribe ack
    ids = [f"b{n}" for n in range(6)]
    for cid in ids:
        trade.place_order(
            instId="BTC-USDT", tdMode="cash", side="buy", ordType="market", sz="0.01", clOrdId=cid
        )
    pushed = [_recv_until(ws, _channel("orders"))["data"][0]["clOrdId"] for _ in ids]
    ws.close()
    assert pushed == ids
