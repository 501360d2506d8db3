"""Stream (and Watcher) against a local WebSocket server that the tests script per connection."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import cast

import orjson
import pytest
import redis
from rq import Queue
from websockets.sync.server import ServerConnection

from klaxon.redis_server import free_port
from tests.integration.ws_server import WsServer, running, serving
from tests.recording_sink import Recorder
from tests.waiting import WAIT, wait_until
from watcher import keys
from watcher.events import FeedStatus, decode_event, decode_ticks
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.stream import Stream, StreamOptions
from watcher.venues import Feed, Heartbeat
from watcher.venues.okx import Okx, OkxCredentials

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
T0 = 1_597_026_383_085  # the documented push's ts: frames are told apart by the ms after it
CREDS = OkxCredentials(api_key="key-1a2b", secret_key="secret-3c4d", passphrase="phrase-5e6f")
FAST = StreamOptions(backoff_base=0.01, backoff_cap=0.05, login_timeout=2.0, io_timeout=2.0)
# A loopback port nothing listens on: a REST call there is refused at once.
REFUSED = "http://127.0.0.1:9"


def doc(name: str) -> bytes:
    """A documented OKX frame, compacted as OKX sends it."""
    return orjson.dumps(orjson.loads((DATA / name).read_bytes()))


def ticker(ts: int) -> str:
    """The documented tickers push, `ts` ms after its documented time (to tell frames apart)."""
    frame = orjson.loads(doc("okx_ws_tickers_push.json"))
    frame["data"][0]["ts"] = str(T0 + ts)
    return orjson.dumps(frame).decode()


Entry = tuple[bytes, dict[bytes, bytes]]


def entries(r: redis.Redis, stream: str) -> list[Entry]:
    """A stream's entries, oldest first (typed: redis-py's own types are loose)."""
    return cast(list[Entry], r.xrange(stream))


def public_feed(url: str) -> Feed:
    """The OKX public feed for BTC-USDT last prices at `url`."""
    (feed,) = Okx("main", public_url=url).feeds([("BTC-USDT", "last")], private=False)
    return feed


def private_feed(url: str) -> Feed:
    """The OKX private feed (login first) at `url`."""
    (feed,) = Okx("main", CREDS, private_url=url).feeds([], private=True)
    return feed


def beating(server: WsServer, interval: float, timeout: float) -> Feed:
    """The public feed at `server`, with OKX's "ping" at a test's pace."""
    return replace(public_feed(server.url()), heartbeat=Heartbeat(interval, timeout, "ping"))


SUBSCRIBE = Okx().public_subscriptions([("BTC-USDT", "last")])[0]
PRIVATE_SUBSCRIBE = Okx().private_subscriptions()[0]


def test_frames_already_there_are_read_as_one_batch_up_to_the_cap() -> None:
    sent = threading.Event()

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        for i in range(120):
            conn.send(ticker(1_000 + i))
        sent.set()
        server.hold(conn, number)

    sink = Recorder(gate=sent)  # the client reads only once all 120 frames wait in its socket
    with serving(script) as server:
        stream = Stream(public_feed(server.url()), sink, StreamOptions(batch_cap=50))
        with running(stream):
            sink.wait(lambda: len(sink.ticks) == 120)
    sizes = [sum(len(p.ticks) for p in batch) for batch in sink.batches]
    assert [s for s in sizes if s] == [50, 50, 20]
    assert [row[5] - T0 for row in sink.ticks] == list(range(1_000, 1_120))


def test_a_malformed_frame_is_counted_and_skipped() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        conn.send(ticker(1))
        conn.send("{not json")
        conn.send('{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[]}')
        conn.send(ticker(2))
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server, running(Stream(public_feed(server.url()), sink, FAST)):
        sink.wait(lambda: len(sink.ticks) == 2)
        assert server.connections == 1
    assert [row[5] - T0 for row in sink.ticks] == [1, 2]
    assert sink.malformed == ["public", "public"]
    assert server.received[1] == [SUBSCRIBE]


def test_idle_connection_pings_and_reconnects_without_pong() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.hold(conn, number)  # never answers

    options = StreamOptions(backoff_base=0.01)
    sink = Recorder()
    with serving(script) as server, running(Stream(beating(server, 0.2, 0.3), sink, options)):
        server.wait(lambda: 1 in server.finished and server.connections >= 2)
        assert server.received[1] == [SUBSCRIBE, "ping"]
        sink.wait(lambda: any(s.status == "disconnected" for s in sink.statuses))
    first_drop = next(s for s in sink.statuses if s.status == "disconnected")
    assert first_drop.detail == "no frame within 0.3s of a ping"


def test_pongs_keep_the_connection() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        while True:
            if server.recv(conn, number, timeout=WAIT) == "ping":
                conn.send("pong")

    sink = Recorder()
    with serving(script) as server, running(Stream(beating(server, 0.05, 0.5), sink)):
        server.wait(lambda: server.received[1].count("ping") >= 4)
        assert server.connections == 1
    assert [s.status for s in sink.statuses] == ["connected", "disconnected"]
    assert sink.statuses[-1].detail == "stopped"


def _close_frame(conn: ServerConnection) -> None:
    conn.close()


def _drop(conn: ServerConnection) -> None:
    conn.socket.shutdown(socket.SHUT_RDWR)


@pytest.mark.parametrize(
    ("end", "reason"),
    [(_close_frame, "closed by the server (code 1000)"), (_drop, "WebSocketConnectionClosed")],
)
def test_reconnects_after_the_server_ends_the_connection(
    end: Callable[[ServerConnection], None], reason: str
) -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        if number == 1:
            end(conn)
            return
        conn.send(ticker(7))
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server, running(Stream(public_feed(server.url()), sink, FAST)):
        sink.wait(lambda: len(sink.ticks) == 1)
        assert server.received[2] == [SUBSCRIBE]
    statuses = sink.statuses
    assert [s.status for s in statuses[:3]] == ["connected", "disconnected", "connected"]
    assert reason in statuses[1].detail


def test_service_upgrade_notice_reconnects() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        if number == 1:
            conn.send(doc("okx_ws_notice_service_upgrade.json").decode())
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server, running(Stream(public_feed(server.url()), sink, FAST)):
        server.wait(lambda: server.connections >= 2)
        sink.wait(
            lambda: (
                [s.status for s in sink.statuses][:4]
                == ["connected", "closing", "disconnected", "connected"]
            )
        )
    assert sink.statuses[1].code == "64008"


def test_subscribes_only_after_the_login_reply() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        try:
            conn.recv(0.3)
            server.notes["quiet"] = False
        except TimeoutError:
            server.notes["quiet"] = True  # nothing sent while the login is unanswered
        conn.send(doc("okx_ws_login_success.json").decode())
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server, running(Stream(private_feed(server.url()), sink, FAST)):
        server.wait(lambda: len(server.received[1]) == 2)
    login, subscribe = server.received[1]
    (arg,) = orjson.loads(login)["args"]
    assert (arg["apiKey"], arg["passphrase"]) == ("key-1a2b", "phrase-5e6f")
    assert subscribe == PRIVATE_SUBSCRIBE
    assert server.notes["quiet"] is True
    assert [s.status for s in sink.statuses][:2] == ["connected", "logged_in"]


@pytest.mark.parametrize(
    ("reply", "detail"),
    [
        (doc("okx_ws_login_failure.json").decode(), "login_failed 60009 Login failed."),
        (None, "no login reply within 0.3s"),
    ],
)
def test_failed_or_unanswered_login_reconnects_without_subscribing(
    reply: str | None, detail: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        if reply is not None:
            conn.send(reply)
        server.hold(conn, number)

    options = StreamOptions(login_timeout=0.3, backoff_base=0.01, backoff_cap=0.05)
    sink = Recorder()
    with serving(script) as server, running(Stream(private_feed(server.url()), sink, options)):
        server.wait(lambda: 1 in server.finished and server.connections >= 2)
    assert len(server.received[1]) == 1  # the login, and no subscription
    assert orjson.loads(server.received[1][0])["op"] == "login"
    drops = [s for s in sink.statuses if s.status == "disconnected"]
    assert drops[0].detail == detail
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("watcher"))
    assert "okx private" in ours
    for secret in ("key-1a2b", "secret-3c4d", "phrase-5e6f"):
        assert secret not in ours


def test_connects_once_the_server_appears() -> None:
    port = free_port()
    sink = Recorder()

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        conn.send(ticker(3))
        server.hold(conn, number)

    stream = Stream(public_feed(f"ws://127.0.0.1:{port}/ws/v5/public"), sink, FAST)
    with running(stream):
        wait_until(lambda: stream.attempts >= 3, WAIT)
        assert stream.connections == 0
        with serving(script, port):
            sink.wait(lambda: len(sink.ticks) == 1)
    assert sink.statuses[0].status == "connected"


def test_stop_is_prompt_and_reports_the_disconnect() -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.hold(conn, number)

    sink = Recorder()
    with serving(script) as server:
        stream = Stream(public_feed(server.url()), sink)  # production timings: 20 s ping
        thread = threading.Thread(target=stream.run)
        thread.start()
        server.wait(lambda: len(server.received[1]) == 1)
        began = time.monotonic()
        stream.stop()
        thread.join(WAIT)
        assert time.monotonic() - began < 1.0
        assert not thread.is_alive()
    assert [(s.status, s.detail) for s in sink.statuses] == [
        ("connected", ""),
        ("disconnected", "stopped"),
    ]


def test_backoff_is_exponential_jittered_and_capped() -> None:
    stream = Stream(public_feed("ws://127.0.0.1:1/"), Recorder(), StreamOptions(backoff_base=0.5))
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= stream.backoff(attempt) <= ceiling
    assert len({stream.backoff(3) for _ in range(20)}) > 1


def test_watcher_publishes_both_feeds_to_redis(r: redis.Redis) -> None:
    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        assert conn.request is not None
        if conn.request.path.endswith("/private"):
            server.recv(conn, number)
            conn.send(doc("okx_ws_login_success.json").decode())
            server.recv(conn, number)
            conn.send(doc("okx_ws_orders_push.json").decode())
        else:
            server.recv(conn, number)
            conn.send(doc("okx_ws_tickers_push.json").decode())
        server.hold(conn, number)

    with serving(script) as server:
        okx = Okx(
            "main",
            CREDS,
            public_url=server.url("/ws/v5/public"),
            private_url=server.url("/ws/v5/private"),
            rest_url=REFUSED,  # the private feed's backfill fails at once, on loopback
        )
        publisher = Publisher(r, "okx", "main", partitions=2)
        watcher = Watcher(okx, publisher, {("BTC-USDT", "last")}, private=True, options=FAST)
        thread = threading.Thread(target=watcher.run)
        thread.start()
        try:
            ticks = keys.ticks_stream(keys.partition("okx", "BTC-USDT", 2))
            private = keys.private_stream("okx", "main")
            wait_until(lambda: r.xlen(ticks) == 1, WAIT)
            wait_until(
                lambda: {b"order", b"fill"} <= {f[b"k"] for _, f in entries(r, private)}, WAIT
            )
        finally:
            watcher.stop()
            thread.join(WAIT)
        assert not thread.is_alive()
    ((_, fields),) = entries(r, ticks)
    assert decode_ticks(fields[b"d"]) == [
        ["BTC-USDT", "last", "9999.99", "8888.88", "9999.99", 1597026383085]
    ]
    events = [decode_event(f[b"d"]) for _, f in entries(r, private)]
    kinds = [e.kind for e in events if e.kind != "feed"]
    assert kinds == ["order", "fill"]
    statuses = {(e.feed, e.status) for e in events if isinstance(e, FeedStatus)}
    assert {("public", "connected"), ("private", "connected"), ("private", "logged_in")} <= statuses
    queued = {
        (q, job.args[0])
        for q in (keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE)
        for job in Queue(q, connection=r).get_jobs()
    }
    assert {(keys.EVALUATE_QUEUE, ticks), (keys.ACCOUNTS_QUEUE, private)} <= queued
    (group,) = r.xinfo_groups(private)
    assert group["name"] == keys.GROUP.encode()
