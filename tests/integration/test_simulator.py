"""The OKX simulator driven by real clients: python-okx over REST, websocket-client over WS.

Signatures are computed with python-okx's own helpers, so the simulator's verification is checked
against an implementation other than its own.
"""

from __future__ import annotations

import json
import re
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websocket
from okx import Trade
from okx import utils as okx_utils
from okx.websocket import WsUtils

from simulator import SimConfig, Simulator
from tests.waiting import wait_until

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "okx"
KEY, SECRET, PASSPHRASE = "it-key", "it-secret", "it-pass"
UID = "44000000000042"
MARKETS = {"BTC-USDT": "60000", "ETH-USDT": "3000", "BTC-USDT-SWAP": "60010.5"}

pytestmark = [
    pytest.mark.timeout(20),
    # python-okx posts its body with an argument httpx deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]

Frame = dict[str, Any]


def _fixture(name: str) -> Frame:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def _config(**overrides: Any) -> SimConfig:
    fields: dict[str, Any] = {
        "api_key": KEY,
        "secret_key": SECRET,
        "passphrase": PASSPHRASE,
        "markets": MARKETS,
        "walk": False,
        "uid": UID,
    }
    return SimConfig(**(fields | overrides))


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator whose prices move only through the control API."""
    with Simulator(_config()) as running:
        yield running


@pytest.fixture
def trade(sim: Simulator) -> Iterator[Any]:
    """python-okx's TradeAPI pointed at the simulator."""
    api = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=sim.base_url, debug=False)
    yield api
    api.close()


# --- helpers -----------------------------------------------------------------------------------


def _http(url: str, body: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """Returns (status, JSON body) of a GET (no body) or a POST of `body` as is."""
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _control(sim: Simulator, path: str, body: Frame | None = None) -> Frame:
    status, answer = _http(f"{sim.base_url}/sim/{path}", None if body is None else json.dumps(body))
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


def _state(sim: Simulator) -> Frame:
    return _control(sim, "state")


def _connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=5)


def _recv(ws: websocket.WebSocket) -> Frame:
    return json.loads(ws.recv())  # type: ignore[no-any-return]


def _recv_until(ws: websocket.WebSocket, match: Callable[[Frame], bool]) -> Frame:
    for _ in range(50):
        frame = _recv(ws)
        if match(frame):
            return frame
    raise AssertionError("no matching frame in 50")


def _channel(name: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("arg", {}).get("channel") == name and "data" in frame


def _logged_in(sim: Simulator) -> websocket.WebSocket:
    ws = _connect(sim.ws_private_url)
    ws.send(WsUtils.initLoginParams(False, KEY, PASSPHRASE, SECRET))
    assert _recv(ws)["code"] == "0"
    return ws


def _subscribe(ws: websocket.WebSocket, *args: Frame) -> None:
    ws.send(json.dumps({"op": "subscribe", "args": list(args)}))


def _close_code(ws: websocket.WebSocket) -> int:
    """Reads frames until the server's close frame and returns its status code."""
    for _ in range(50):
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0])
    raise AssertionError("no close frame")


def _signed_post(
    sim: Simulator,
    path: str,
    body: Frame,
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASSPHRASE,
    timestamp: str | None = None,
) -> Any:
    """POSTs a request signed by python-okx's helpers (status, JSON body)."""
    stamp = timestamp or okx_utils.get_timestamp()
    text = json.dumps(body)
    sign = okx_utils.sign(okx_utils.pre_hash(stamp, "POST", path, text, False), secret).decode()
    headers = okx_utils.get_header(key, sign, stamp, passphrase, "1", False)
    return _http(sim.base_url + path, text, headers)


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
        "Duplicated clOrdId",
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


# --- public websocket --------------------------------------------------------------------------


def test_tickers_subscribe_acks_then_pushes_the_fixture_shape(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    ws.send(json.dumps(_fixture("okx_ws_subscribe_request_tickers.json") | {"id": "1512"}))
    ack = _recv(ws)
    assert ack.keys() == _fixture("okx_ws_subscribe_ack.json").keys()
    assert (ack["id"], ack["event"], ack["arg"]) == (
        "1512", "subscribe", {"channel": "tickers", "instId": "BTC-USDT"},
    )  # fmt: skip
    first = _recv(ws)
    fixture = _fixture("okx_ws_tickers_push.json")
    assert first["arg"] == fixture["arg"]
    tick = first["data"][0]
    assert tick.keys() == fixture["data"][0].keys()
    assert all(isinstance(v, str) for v in tick.values())
    assert (tick["last"], tick["bidPx"], tick["askPx"]) == ("60000", "59999.9", "60000.1")

    _control(sim, "price", {"instId": "BTC-USDT", "price": "60123.4"})
    moved = _recv(ws)["data"][0]
    ws.close()
    assert (moved["last"], moved["high24h"]) == ("60123.4", "60123.4")
    assert int(moved["ts"]) >= int(tick["ts"])


def test_mark_price_push_has_the_fixture_shape(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    _subscribe(ws, {"channel": "mark-price", "instId": "BTC-USDT-SWAP"})
    _recv(ws)
    push = _recv(ws)
    ws.close()
    assert push["data"][0].keys() == _fixture("okx_ws_mark_price_push.json")["data"][0].keys()
    assert (push["data"][0]["instType"], push["data"][0]["markPx"]) == ("SWAP", "60010.5")


@pytest.mark.parametrize(
    ("raw", "code", "msg"),
    [
        ("{not json", "60012", "Invalid request: {not json"),
        (
            '{"op":"subscribe","argss":[]}',
            "60012",
            'Invalid request: {"op":"subscribe","argss":[]}',
        ),
        (
            '{"op":"subscribe","args":[{"channel":"tickers","instId":"NOPE-USDT"}]}',
            "60018",
            "Wrong URL or channel:tickers,instId:NOPE-USDT doesn't exist.",
        ),
        (
            '{"op":"subscribe","args":[{"channel":"account"}]}',
            "60018",
            "Wrong URL or channel:account doesn't exist.",
        ),
    ],
)
def test_public_request_errors(sim: Simulator, raw: str, code: str, msg: str) -> None:
    ws = _connect(sim.ws_public_url)
    ws.send(raw)
    answer = _recv(ws)
    ws.close()
    assert (answer["event"], answer["code"]) == ("error", code)
    assert answer["msg"].startswith(msg)
    assert isinstance(answer["connId"], str)


@pytest.mark.parametrize("feed", ["public", "private"])
def test_text_ping_gets_text_pong(sim: Simulator, feed: str) -> None:
    ws = _connect(sim.ws_public_url if feed == "public" else sim.ws_private_url)
    ws.send("ping")
    answer = ws.recv()
    ws.close()
    assert answer == "pong"


def test_idle_connection_is_closed_with_4004() -> None:
    with Simulator(_config(idle_timeout=0.3)) as short:
        ws = _connect(short.ws_public_url)
        opened = time.monotonic()
        code = _close_code(ws)
        elapsed = time.monotonic() - opened
        ws.close()
    assert code == 4004
    assert 0.25 <= elapsed < 3


def test_path_plays_prices_in_order_then_holds_the_last(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    _subscribe(ws, {"channel": "tickers", "instId": "ETH-USDT"})
    _recv(ws)
    assert _recv(ws)["data"][0]["last"] == "3000"
    prices = ["3001.5", "2999.25", "3010"]
    _control(sim, "path", {"instId": "ETH-USDT", "prices": prices, "interval": 0.05})
    played = [_recv(ws)["data"][0]["last"] for _ in prices]
    ws.close()
    assert played == prices
    wait_until(lambda: _state(sim)["paths"] == [], what="the path has finished")
    assert _state(sim)["prices"]["ETH-USDT"] == "3010"


@pytest.mark.parametrize("feed", ["public", "private"])
def test_inject_delivers_the_raw_text(sim: Simulator, feed: str) -> None:
    ws = _connect(sim.ws_public_url if feed == "public" else sim.ws_private_url)
    wait_until(lambda: _state(sim)["connected"][feed] == 1, what=f"the {feed} client is registered")
    answer = _control(sim, "inject", {"feed": feed, "raw": '{"arg": oops'})
    received = ws.recv()
    ws.close()
    assert answer["sent"] == 1
    assert received == '{"arg": oops'


def test_drop_closes_the_feed_and_state_shows_subscriptions(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    _subscribe(ws, {"channel": "tickers", "instId": "BTC-USDT"})
    _recv(ws)
    subscribed = [{"channel": "tickers", "instId": "BTC-USDT"}]
    wait_until(
        lambda: [c["subscriptions"] for c in _state(sim)["clients"]["public"]] == [subscribed],
        what="the subscription shows in /sim/state",
    )
    assert _control(sim, "drop", {"feed": "public"})["dropped"] == 1
    assert _close_code(ws) == 1001
    ws.close()
    wait_until(lambda: _state(sim)["connected"]["public"] == 0, what="the client is gone")


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("price", {"instId": "NOPE", "price": "1"}, "instId must be one of"),
        ("price", {"instId": "BTC-USDT", "price": 1.5}, "price must be a positive decimal"),
        ("path", {"instId": "BTC-USDT", "prices": [], "interval": 1}, "prices must be"),
        ("path", {"instId": "BTC-USDT", "prices": ["1"], "interval": 0}, "interval must be"),
        ("inject", {"feed": "both", "raw": "x"}, "feed must be"),
        ("drop", {"feed": "public", "code": 1006}, "code must be"),
    ],
)
def test_control_api_refuses_bad_requests(
    sim: Simulator, path: str, body: Frame, error: str
) -> None:
    status, answer = _http(f"{sim.base_url}/sim/{path}", json.dumps(body))
    assert status == 400
    assert error in answer["error"]


def test_stop_closes_connections_and_frees_the_port() -> None:
    running = Simulator(_config()).start()
    ws = _connect(running.ws_public_url)
    running.stop()
    assert _close_code(ws) == 1001
    ws.close()
    with pytest.raises(ConnectionRefusedError):
        _connect(running.ws_public_url)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_forever_prints_its_urls_and_stops_cleanly_on_signal(signum: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "simulator", "--no-walk"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"rest (http://127\.0\.0\.1:\d+)", line)
        assert found, line
        status, body = _http(f"{found.group(1)}/api/v5/public/time")
        assert (status, body["code"]) == (200, "0")
        assert "/ws/v5/public" in line
        assert "/ws/v5/private" in line
        proc.send_signal(signum)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=10)
    assert "Traceback" not in err
    assert "sim-secret" not in line + out + err
    assert "sim-pass" not in line + out + err


def test_drop_with_abort_cuts_without_a_close_frame(sim: Simulator) -> None:
    ws = _connect(sim.ws_private_url)
    wait_until(lambda: _state(sim)["connected"]["private"] == 1, what="the client is registered")
    assert _control(sim, "drop", {"feed": "private", "abort": True})["dropped"] == 1
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        ws.recv()
    ws.close()
