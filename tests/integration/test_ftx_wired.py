"""FTX (historical) end to end: the FTX simulator -> klaxon's watcher (wired from KLAXON_ACCOUNTS
as `klaxon watch` wires it) -> Redis -> a real rq burst worker -> apprise -> the local inbox, for
a price crossing and a fill. The order is placed by this test over the simulator's signed
POST /api/orders (klaxon does not trade on FTX), signed here by FTX's REST recipe."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis
import websocket

from simulator import SimConfig, Simulator
from tests.integration.sim_client import _control, _state
from tests.integration.test_workers_harness import harness
from tests.integration.wired import build, running
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, decode_event
from watcher.venues.ftx import FtxCredentials, login_frame

pytestmark = pytest.mark.timeout(60)
KEY, SECRET = "ftx-it-key", "ftx-it-secret"
PRIVATE = keys.private_stream("ftx", "main")
RULES = """\
  - name: btc-up
    price: {venue: ftx, market: BTC-PERP, crosses_up: "20100"}
    notify: [desk]
    message: "{market} crossed above {level}: last {price} (was {prev})"
  - name: fills
    fill: {venue: ftx, account: main}
    notify: [desk]
    message: "Filled {side} {size} {market} @ {price} on {venue}/{account}"
"""


@pytest.fixture
def ftx_sim() -> Iterator[Simulator]:
    """An FTX simulator whose prices move only through the control API."""
    config = SimConfig(venue="ftx", api_key=KEY, secret_key=SECRET,
                       markets={"BTC-PERP": "20000"}, walk=False)  # fmt: skip
    with Simulator(config) as running_sim:
        yield running_sim


def place(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """POST /api/orders, signed as FTX's sample client signs (ts + method + path + body)."""
    raw = json.dumps(body)
    ts = str(int(time.time() * 1000))
    sign = hmac.new(SECRET.encode(), f"{ts}POST/api/orders{raw}".encode(), hashlib.sha256)
    request = urllib.request.Request(
        sim.endpoint("ftx").base_url + "/api/orders",
        data=raw.encode(),
        headers={
            "FTX-KEY": KEY,
            "FTX-TS": ts,
            "FTX-SIGN": sign.hexdigest(),
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        answer: dict[str, Any] = json.load(reply)
    return answer


def watching(sim: Simulator) -> bool:
    """Whether the watcher holds the ticker and a logged-in fills + orders connection."""
    clients = _state(sim)["clients"]["ws"]
    subs = [c["subscriptions"] for c in clients]
    private = [c for c in clients if c["loggedIn"] and len(c["subscriptions"]) == 2]
    return (
        len(clients) == 2
        and [{"channel": "ticker", "market": "BTC-PERP"}] in subs
        and bool(private)
    )


def fills(r: redis.Redis) -> list[Fill]:
    """The account's private stream's fills."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(PRIVATE))
    events = [decode_event(fields[b"d"]) for _, fields in entries]
    return [e for e in events if isinstance(e, Fill)]


def test_a_crossing_and_a_fill_on_ftx_notify_through_a_real_worker(
    ftx_sim: Simulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness(redis_url, tmp_path) as kx:
        (rules,) = kx.rules(RULES)
        env = {
            "KLAXON_REDIS_URL": redis_url,
            "KLAXON_ACCOUNTS": json.dumps([{"venue": "ftx", "account": "main"}]),
            "KLAXON_FTX_API_KEY": KEY,
            "KLAXON_FTX_SECRET_KEY": SECRET,
            "KLAXON_FTX_WS_URL": ftx_sim.endpoint("ftx").ws_url("ws"),
        }
        _, watchers = build(monkeypatch, env, rules)
        (watcher,) = watchers
        assert [s.feed.name for s in watcher.streams] == ["public", "private"]
        assert kx.r.get(keys.key_permissions("ftx", "main")) == b"read"  # klaxon never trades
        with running(watchers):
            wait_until(lambda: watching(ftx_sim), 10, "the ticker and the private channels")
            _control(ftx_sim, "path", {"market": "BTC-PERP", "prices": ["20050", "20150"],
                                       "interval": 0.2})  # fmt: skip
            wait_until(lambda: _state(ftx_sim)["prices"]["BTC-PERP"] == "20150", 5, "the path")
            order = {"market": "BTC-PERP", "side": "buy", "type": "market", "size": 0.01,
                     "price": None, "clientId": "wired-1"}  # fmt: skip
            placed = place(ftx_sim, order)
            assert placed["success"] is True
            wait_until(lambda: fills(kx.r), 10, "the fill on the private stream")

            def alerts() -> list[str]:
                messages = kx.messages()
                wanted = ("crossed above", "Filled")
                return messages if all(any(w in m for m in messages) for w in wanted) else []

            kx.work_until(alerts, 20, "the price and fill alerts")
    messages = alerts()
    assert "BTC-PERP crossed above 20100: last 20150 (was 20050)" in messages
    assert "Filled buy 0.01 BTC-PERP @ 20150 on ftx/main" in messages
    (fill,) = fills(kx.r)
    assert (fill.order_id, fill.late) == (str(placed["result"]["id"]), False)


def test_the_simulator_refuses_a_login_signed_with_another_secret(ftx_sim: Simulator) -> None:
    ws = websocket.create_connection(ftx_sim.endpoint("ftx").ws_url("ws"), timeout=5)
    try:
        wrong = FtxCredentials(api_key=KEY, secret_key="not-the-secret")
        ws.send(login_frame(wrong, int(time.time() * 1000)))
        assert json.loads(ws.recv()) == {"type": "error", "code": 400,
                                         "msg": "Invalid login credentials"}  # fmt: skip
        ws.send('{"op": "subscribe", "channel": "fills"}')
        assert json.loads(ws.recv())["msg"] == "Not logged in"
        ws.send('{"op": "ping"}')
        assert json.loads(ws.recv()) == {"type": "pong"}
        right = FtxCredentials(api_key=KEY, secret_key=SECRET)
        ws.send(login_frame(right, int(time.time() * 1000)))
        ws.send('{"op": "subscribe", "channel": "fills"}')  # a good login has no reply
        assert json.loads(ws.recv()) == {"type": "subscribed", "channel": "fills"}
    finally:
        ws.close()
