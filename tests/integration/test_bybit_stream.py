"""Bybit feeds through the real Stream, against a local WebSocket server playing Bybit's frames.

The server checks the auth frame's signature with pybit and answers with documented frames;
the one derived frame is a ticker delta (Bybit documents none: a documented snapshot cut down).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import orjson
import pytest
from pybit._http_manager import generate_signature
from websockets.sync.server import ServerConnection

from tests.documented import Documented
from tests.integration.ws_server import WsServer, running, serving
from tests.recording_sink import Recorder
from tests.waiting import WAIT
from watcher.events import Event, FeedStatus, Fill, OrderUpdate
from watcher.stream import Stream, StreamOptions
from watcher.venues import Feed, Heartbeat
from watcher.venues.bybit import PING, Bybit, BybitCredentials

BYBIT = Documented("bybit")
KEY, SECRET = "key-6b1f", "secret-0d9e"
CREDS = BybitCredentials(api_key=KEY, secret_key=SECRET)
FAST = StreamOptions(backoff_base=0.01, backoff_cap=0.05, login_timeout=2.0, io_timeout=2.0)


def send(conn: ServerConnection, name: str) -> None:
    """Send a documented frame, compacted as Bybit sends it."""
    conn.send(orjson.dumps(BYBIT.doc(name)).decode())


def private_feed(url: str) -> Feed:
    """The Bybit private feed (auth first) at `url`."""
    (feed,) = Bybit("main", CREDS, private_url=url).feeds([], private=True)
    return feed


def events(sink: Recorder) -> list[Event]:
    """Every event but feed statuses, in order."""
    every = [e for batch in sink.batches for parsed in batch for e in parsed.events]
    return [e for e in every if not isinstance(e, FeedStatus)]


def test_private_feed_authenticates_subscribes_and_reads_events() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        auth = orjson.loads(server.recv(conn, number))
        key, expires, signature = auth["args"]
        server.notes["auth"] = (auth["op"], key, expires, signature)
        send(conn, "bybit_ws_auth_success.json")
        server.recv(conn, number)  # the subscription
        send(conn, "bybit_ws_subscribe_ack_private.json")
        send(conn, "bybit_ws_execution_push.json")
        send(conn, "bybit_ws_order_push.json")
        server.hold(conn, number)

    sink = Recorder()
    before_ms = int(time.time() * 1000)
    with serving(script) as server, running(Stream(private_feed(server.url()), sink, FAST)):
        sink.wait(lambda: len(events(sink)) == 2)
    op, key, expires, signature = server.notes["auth"]
    assert (op, key) == ("auth", KEY)
    assert expires > before_ms  # in the future, in milliseconds
    assert signature == generate_signature(False, SECRET, f"GET/realtime{expires}")
    assert orjson.loads(server.received[1][1]) == {
        "op": "subscribe",
        "args": ["order", "execution", "position", "wallet"],
    }
    fill, order = events(sink)
    assert isinstance(fill, Fill)
    assert (fill.trade_id, fill.market) == (
        "0ab1bdf7-4219-438b-b30a-32ec863018f7",
        "linear:BTCUSDT",
    )
    assert isinstance(order, OrderUpdate)
    assert order.state == "filled"
    assert [s.status for s in sink.statuses][:2] == ["connected", "logged_in"]
    assert sink.malformed == []


def test_refused_auth_reconnects_without_subscribing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        send(conn, "bybit_ws_auth_failure_ccxt.json")
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server, running(Stream(private_feed(server.url()), sink, FAST)):
        server.wait(lambda: 1 in server.finished and server.connections >= 2)
    assert len(server.received[1]) == 1  # the auth frame, and no subscription
    drops = [s for s in sink.statuses if s.status == "disconnected"]
    assert drops[0].detail == "login_failed  error:USVC1111"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("watcher"))
    assert "bybit private" in logged
    assert KEY not in logged
    assert SECRET not in logged


def test_public_feed_merges_deltas_and_keeps_alive_with_text_pings() -> None:
    snapshot = BYBIT.doc("bybit_ws_tickers_linear_snapshot.json")
    delta = BYBIT.doc("bybit_ws_tickers_linear_snapshot_2023.json")  # cut down to its bid
    delta.update(type="delta", data={"symbol": "BTCUSDT", "bid1Price": delta["data"]["bid1Price"]})

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)  # the subscription
        send(conn, "bybit_ws_subscribe_ack_public_linear.json")
        conn.send(orjson.dumps(snapshot).decode())
        conn.send(orjson.dumps(delta).decode())
        while True:
            if server.recv(conn, number, timeout=WAIT) == PING:
                send(conn, "bybit_ws_pong_public_linear.json")

    series = [("linear:BTCUSDT", "last"), ("linear:BTCUSDT", "mark")]
    sink = Recorder()
    with serving(script) as server:
        (feed,) = Bybit(public_url=server.url("/v5/public")).feeds(series, private=False)
        assert feed.url() == server.url("/v5/public/linear")
        assert feed.heartbeat == Heartbeat(interval=20.0, timeout=10.0, frame=PING)
        fast = replace(feed, heartbeat=Heartbeat(0.05, 0.5, PING))  # Bybit's ping, at test pace
        with running(Stream(fast, sink, FAST)):
            server.wait(lambda: server.received[1].count(PING) >= 3)
            sink.wait(lambda: len(sink.ticks) == 3)
            assert server.connections == 1
    ts = snapshot["ts"]
    assert sink.ticks == [
        ("linear:BTCUSDT", "last", "66666.60", "66666.60", "66666.70", ts),
        ("linear:BTCUSDT", "mark", "66666.60", "", "", ts),  # index: no rule asked for it
        ("linear:BTCUSDT", "last", "66666.60", "17215.50", "66666.70", delta["ts"]),
    ]
    assert orjson.loads(server.received[1][0]) == {"op": "subscribe", "args": ["tickers.BTCUSDT"]}
    assert sink.malformed == []
