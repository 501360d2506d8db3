"""The simulator's public WebSocket, heartbeat, idle close and control API."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest
import websocket

from simulator import Simulator
from tests.integration.sim_client import (
    Frame,
    _close_code,
    _config,
    _connect,
    _control,
    _fixture,
    _http,
    _recv,
    _state,
    _subscribe,
)
from tests.waiting import wait_until

pytestmark = pytest.mark.timeout(20)


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


def test_index_tickers_follow_the_spot_market_of_the_index(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    _subscribe(ws, {"channel": "index-tickers", "instId": "BTC-USDT"})
    assert _recv(ws)["event"] == "subscribe"
    first = _recv(ws)
    documented = _fixture("okx_ws_index_tickers_push.json")
    assert first["arg"] == documented["arg"]
    assert first["data"][0].keys() == documented["data"][0].keys()
    assert first["data"][0]["idxPx"] == "60000"
    _control(sim, "price", {"instId": "BTC-USDT-SWAP", "price": "61000"})  # not the index's
    _control(sim, "price", {"instId": "BTC-USDT", "price": "60123.4"})
    moved = _recv(ws)["data"][0]
    ws.close()
    assert (moved["instId"], moved["idxPx"]) == ("BTC-USDT", "60123.4")


@pytest.mark.parametrize(
    ("raw", "code", "msg"),
    [
        ("{not json", "60012", "Invalid request: {not json"),
        (
            '{"op":"subscribe","args":[{"channel":"index-tickers","instId":"NOPE-USDT"}]}',
            "60018",
            "Wrong URL or channel:index-tickers,instId:NOPE-USDT doesn't exist.",
        ),
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
        ("pause", {"feed": "public", "paused": "yes"}, "paused must be true or false"),
        ("refuse", {"feed": "nope"}, "feed must be"),
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


def test_a_paused_feed_gets_no_pushes_but_answers_pings(sim: Simulator) -> None:
    ws = _connect(sim.ws_public_url)
    _subscribe(ws, {"channel": "tickers", "instId": "BTC-USDT"})
    _recv(ws)  # the ack
    _recv(ws)  # the snapshot
    assert _control(sim, "pause", {"feed": "public"})["paused"] == ["public"]
    _control(sim, "price", {"instId": "BTC-USDT", "price": "60001"})  # not pushed
    ws.send("ping")
    assert ws.recv() == "pong"  # the next frame: nothing was pushed before it
    assert _state(sim)["paused"] == ["public"]
    _control(sim, "pause", {"feed": "public", "paused": False})
    _control(sim, "price", {"instId": "BTC-USDT", "price": "60002"})
    assert _recv(ws)["data"][0]["last"] == "60002"
    ws.close()


def test_a_refused_feed_answers_503_until_it_accepts_again(sim: Simulator) -> None:
    assert _control(sim, "refuse", {"feed": "public"})["refused"] == ["public"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        _connect(sim.ws_public_url)
    assert refused.value.status_code == 503
    _connect(sim.ws_private_url).close()  # the other feed still accepts
    assert _control(sim, "refuse", {"feed": "public", "refused": False})["refused"] == []
    _connect(sim.ws_public_url).close()
