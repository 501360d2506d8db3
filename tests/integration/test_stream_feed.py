"""What a Feed tells the Stream: a URL called at every connect, the venue's heartbeat, a maximum
connection age, and a hook run once connected (for a resync)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import orjson
from websockets.sync.server import ServerConnection

from tests.integration.ws_server import WsServer, running, serving
from tests.recording_sink import Recorder
from watcher.errors import ExchangeUnavailable
from watcher.events import FeedStatus, Fill
from watcher.stream import Stream, StreamOptions
from watcher.venues import Feed, Heartbeat, Parsed
from watcher.venues.okx import Okx

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
FAST = StreamOptions(backoff_base=0.01, backoff_cap=0.05, io_timeout=2.0)
OKX = Okx("main")
SUBSCRIBE = OKX.public_subscriptions([("BTC-USDT", "last")])[0]
TICKERS = orjson.dumps(orjson.loads((DATA / "okx_ws_tickers_push.json").read_bytes())).decode()


def feed_at(server: WsServer) -> Feed:
    """OKX's public BTC-USDT feed, at `server`."""
    (feed,) = Okx("main", public_url=server.url()).feeds([("BTC-USDT", "last")], private=False)
    return feed


def path_of(conn: ServerConnection) -> str:
    assert conn.request is not None
    return conn.request.path


def test_the_url_is_called_again_at_every_connect() -> None:
    paths: list[str] = []

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        paths.append(path_of(conn))
        server.recv(conn, number)
        if number < 3:
            conn.close()  # each of the first two connections ends at once
            return
        conn.send(TICKERS)
        server.hold(conn, number)

    keys = iter(["listen-key-a", "listen-key-b", "listen-key-c"])
    sink = Recorder()
    with serving(script) as server:
        # A listen key per connection, as Binance's user data stream puts it in the URL.
        feed = replace(feed_at(server), url=lambda: server.url(f"/ws/{next(keys)}"))
        with running(Stream(feed, sink, FAST)):
            sink.wait(lambda: len(sink.ticks) == 1)
    assert paths == ["/ws/listen-key-a", "/ws/listen-key-b", "/ws/listen-key-c"]
    assert server.received[3] == [SUBSCRIBE]


def test_a_connection_at_its_max_age_is_replaced_at_once() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.hold(conn, number)  # the server never ends a connection

    # A backoff would take longer than the test waits: the renewal must not back off.
    options = StreamOptions(backoff_base=30.0, backoff_cap=30.0)
    sink = Recorder()
    with serving(script) as server:
        with running(Stream(replace(feed_at(server), max_age=0.3), sink, options)):
            server.wait(lambda: server.connections >= 3 and len(server.received[3]) == 1)
        assert all(server.received[n] == [SUBSCRIBE] for n in (1, 2, 3))
    drops = [s.detail for s in sink.statuses if s.status == "disconnected"]
    assert drops[:2] == ["connected for 0.3s, the feed's limit"] * 2


def test_without_a_ping_frame_silence_ends_the_connection() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.hold(conn, number)  # silent: no frame, no ping

    sink = Recorder()
    with serving(script) as server:
        feed = replace(feed_at(server), heartbeat=Heartbeat(0.1, 0.2, None))
        with running(Stream(feed, sink, FAST)):
            server.wait(lambda: 1 in server.finished and server.connections >= 2)
        assert server.received[1] == [SUBSCRIBE]  # nothing sent but the subscription
    drop = next(s for s in sink.statuses if s.status == "disconnected")
    assert drop.detail == "no frame for 0.3s"


def test_on_connected_publishes_before_the_frames_read_after_it() -> None:
    # A resync as a venue would do it: the fills missed while disconnected, parsed from a push.
    resync = OKX.parse((DATA / "okx_ws_fills_push.json").read_bytes(), feed="private")
    (fill,) = resync.events
    assert isinstance(fill, Fill)
    calls: list[int] = []
    subscribed = threading.Event()

    def on_connected() -> Sequence[Parsed]:
        assert subscribed.wait(5), "the hook runs once the subscriptions are sent"
        calls.append(len(calls) + 1)
        if len(calls) == 1:
            raise ExchangeUnavailable("okx /api/v5/trade/fills-history: HTTP 503")
        return [resync, Parsed([], [])]

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        subscribed.set()
        conn.send(TICKERS)  # sent before the hook returns: read after what it returns
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server:
        with running(Stream(replace(feed_at(server), on_connected=on_connected), sink, FAST)):
            sink.wait(lambda: len(sink.ticks) == 1)
        assert server.connections == 2
    assert calls == [1, 2]
    events = [e for batch in sink.batches for parsed in batch for e in parsed.events]
    kinds = [getattr(e, "status", e.kind) for e in events]
    assert kinds == ["connected", "disconnected", "connected", "fill", "disconnected"]
    assert events[3] == fill
    drop = events[1]
    assert isinstance(drop, FeedStatus)
    assert drop.detail == "ExchangeUnavailable: okx /api/v5/trade/fills-history: HTTP 503"
    # The ticker was read after the resync was published, in a later batch.
    ticks_at = next(i for i, b in enumerate(sink.batches) if any(p.ticks for p in b))
    fill_at = next(i for i, b in enumerate(sink.batches) if any(fill in p.events for p in b))
    assert fill_at < ticks_at
