"""Binance feeds through the real Stream against a local WebSocket server (and a local REST host
for listen keys): combined streams, user data, listenKeyExpired, serverShutdown, max age."""

from __future__ import annotations

import contextlib
import time
from dataclasses import replace
from pathlib import Path

import orjson
from websockets.sync.server import ServerConnection

from tests.integration.ws_server import WsServer, running, serving
from tests.local_http import LocalHttp, Reply
from tests.recording_sink import Recorder
from watcher.events import AccountUpdate, Event, FeedStatus, OrderUpdate
from watcher.stream import Stream, StreamOptions
from watcher.venues import Heartbeat
from watcher.venues.binance import Binance, BinanceCredentials
from watcher.venues.binanceusdm import BinanceUsdm

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
FAST = StreamOptions(backoff_base=0.01, backoff_cap=0.05, io_timeout=2.0)
CREDS = BinanceCredentials(api_key="key-0c1d", secret_key="secret-2e3f")


def doc(name: str) -> bytes:
    """A documented frame, compacted as Binance sends it."""
    return orjson.dumps(orjson.loads((DATA / name).read_bytes()))


def combined(stream: str, name: str) -> str:
    """A documented market-data payload as its combined stream sends it."""
    return orjson.dumps({"stream": stream, "data": orjson.loads(doc(name))}).decode()


def events(sink: Recorder) -> list[Event]:
    """Every event the sink got, in order."""
    return [e for batch in sink.batches for parsed in batch for e in parsed.events]


def note_path(server: WsServer, conn: ServerConnection, number: int) -> None:
    """Record the path (with query) connection `number` asked for."""
    assert conn.request is not None
    with server.cond:
        server.notes[f"path{number}"] = conn.request.path
        server.cond.notify_all()


def test_market_data_comes_on_the_combined_stream_named_in_the_url() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        note_path(server, conn, number)
        conn.send(combined("bnbbtc@ticker", "binance_spot_ws_24hrTicker_push.json"))
        conn.send(doc("binance_spot_ws_server_shutdown.json").decode())  # then reconnect
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server:
        venue = Binance("main", stream_url=server.url(""))
        (feed,) = venue.feeds([("BNBBTC", "last"), ("ETHBTC", "bid")], private=False)
        with running(Stream(feed, sink, FAST)):
            sink.wait(lambda: len(sink.ticks) >= 2)
        assert server.notes["path1"] == "/stream?streams=bnbbtc@ticker/ethbtc@bookTicker"
        assert server.received[1] == []  # no subscribe frame: the URL names the streams
    assert sink.ticks[0] == ("BNBBTC", "last", "0.0025", "0.0024", "0.0026", 1672515782136)
    closing = [s for s in sink.statuses if s.status == "closing"]
    assert closing[0].code == "serverShutdown"
    assert sink.statuses[0].status == "connected"


def test_user_data_reconnects_with_a_new_listen_key_when_it_expires(local: LocalHttp) -> None:
    local.replies += [
        Reply(body=b'{"listenKey": "key-one"}'),
        Reply(body=b'{"listenKey": "key-two"}'),
    ]
    local.default = Reply(body=b"{}")  # keepalives

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        note_path(server, conn, number)
        if number == 1:
            conn.send(doc("binance_spot_uds_executionReport.json").decode())
            conn.send(doc("binance_futures_uds_listenKeyExpired.json").decode())
        else:
            conn.send(doc("binance_spot_uds_outboundAccountPosition.json").decode())
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server:
        venue = Binance("main", CREDS, stream_url=server.url(""), rest_url=local.url)
        try:
            (feed,) = venue.feeds([], private=True)
            with running(Stream(feed, sink, FAST)):
                sink.wait(lambda: any(isinstance(e, AccountUpdate) for e in events(sink)))
        finally:
            venue.close()
        assert [server.notes["path1"], server.notes["path2"]] == ["/ws/key-one", "/ws/key-two"]
    kinds = [type(e).__name__ for e in events(sink) if not isinstance(e, FeedStatus)]
    assert kinds == ["OrderUpdate", "AccountUpdate"]
    order = next(e for e in events(sink) if isinstance(e, OrderUpdate))
    assert (order.venue, order.account, order.order_id) == ("binance", "main", "4293153")
    expired = [s for s in sink.statuses if s.code == "listenKeyExpired"]
    assert expired[0].status == "closing"
    assert "key-one" not in repr(sink.statuses)
    assert [s.method for s in local.seen[:2]] == ["POST", "POST"]


def test_a_connection_is_renewed_before_binances_24_hours() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        conn.send(combined("btcusdt@markPrice@1s", "binance_futures_ws_markPriceUpdate_push.json"))
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server:
        venue = BinanceUsdm("main", stream_url=server.url(""), max_connection_age=0.3)
        (feed,) = venue.feeds([("BTCUSDT", "mark")], private=False)
        assert feed.max_age == 0.3
        with running(Stream(feed, sink, StreamOptions(backoff_base=30.0))):
            server.wait(lambda: server.connections >= 3)  # a backoff of 30 s would not get here
            sink.wait(lambda: len(sink.ticks) >= 3)  # one from each connection
    renewals = [s.detail for s in sink.statuses if s.status == "disconnected"]
    assert renewals[0] == "connected for 0.3s, the feed's limit"


def test_the_servers_pings_keep_a_quiet_feed_and_silence_ends_it() -> None:
    def pinging(server: WsServer, conn: ServerConnection, number: int) -> None:
        started = time.monotonic()
        with server.cond:
            server.notes[f"start{number}"] = started
        while number == 1 and time.monotonic() - started < 1.2:  # pings, as Binance does
            conn.ping(b"binance")
            with contextlib.suppress(TimeoutError):
                conn.recv(0.1)  # the client sends nothing (it answers pings with pongs)
        server.hold(conn, number)

    sink = Recorder()
    with serving(pinging) as server:
        (feed,) = Binance("main", stream_url=server.url("")).feeds([("BTCUSDT", "last")], False)
        quick = replace(feed, heartbeat=Heartbeat(interval=0.3, timeout=0.3, frame=None))
        assert Binance.heartbeat.frame is None  # no JSON ping exists: we only answer Binance's
        with running(Stream(quick, sink, FAST)):
            server.wait(lambda: "start2" in server.notes)
        assert server.received[1] == []
        lived = server.notes["start2"] - server.notes["start1"]
    (first, *_) = [s for s in sink.statuses if s.status == "disconnected"]
    assert first.detail == "no frame for 0.6s"  # once the pings stopped
    assert lived >= 1.2  # twice the silence it tolerates: the pings kept it
