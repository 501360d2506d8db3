"""One bad frame or one refused batch never kills a feed: the frames after it still arrive.

A local WebSocket server sends documented OKX tickers pushes with one absurd value between good
ones; the Stream publishes through the real Publisher into a real Redis. Sinks that refuse a
batch (for good, or for now) check what the Stream does with it.
"""

from __future__ import annotations

import threading

import orjson
import pytest
import redis
from websockets.sync.server import ServerConnection

from tests.integration.test_stream import FAST, T0, doc, entries, public_feed, ticker
from tests.integration.ws_server import WsServer, running, serving
from tests.recording_sink import Recorder
from tests.waiting import WAIT, wait_until
from watcher import keys
from watcher.events import decode_ticks
from watcher.publish import Publisher
from watcher.stream import Stream
from watcher.venues import Parsed


def poisoned(field: str, literal: str) -> str:
    """The documented tickers push with one field written as a raw JSON literal."""
    frame = orjson.loads(doc("okx_ws_tickers_push.json"))
    frame["data"][0][field] = "__POISON__"
    return orjson.dumps(frame).decode().replace('"__POISON__"', literal)


POISON = [
    poisoned("ts", "1e300"),  # a JSON number: int() of it has 301 digits, orjson refuses it
    poisoned("ts", '"99999999999999999999"'),  # above 2^63
    poisoned("ts", '"99999999999999999"'),  # fits int64; a worker's datetime cannot hold it
    poisoned("last", '"-1"'),
    poisoned("last", '"1e999999999"'),
    poisoned("ts", "true"),
]


def tick_times(r: redis.Redis) -> list[int]:
    """The exchange times (ms after T0) of every tick row in the one ticker stream."""
    rows = [row for _, f in entries(r, keys.ticks_stream(0)) for row in decode_ticks(f[b"d"])]
    return [int(str(row[5])) - T0 for row in rows]


def test_poisoned_frames_are_skipped_and_the_feed_lives(r: redis.Redis) -> None:
    more = threading.Event()

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        for frame in [ticker(1), *POISON, ticker(2)]:  # likely one read: one batch
            conn.send(frame)
        assert more.wait(WAIT)
        conn.send(ticker(3))
        server.hold(conn, number)

    publisher = Publisher(r, "okx", "main", partitions=1)
    publisher.ensure_groups()
    with serving(script) as server, running(Stream(public_feed(server.url()), publisher, FAST)):
        wait_until(lambda: tick_times(r) == [1, 2], what="the good ticks around the poison")
        more.set()
        wait_until(lambda: tick_times(r) == [1, 2, 3], what="a tick after the poison")
        assert server.connections == 1
    stats = r.hgetall(keys.STATS)
    assert stats[b"malformed:okx:public"] == str(len(POISON)).encode()
    assert stats[b"ticks_in"] == b"3"
    assert b"unpublishable:okx" not in stats


class Refusing(Recorder):
    """A Recorder that raises `error` whenever it is offered the tick of time T0 + `poison`."""

    def __init__(self, poison: int, error: Exception, times: int) -> None:
        super().__init__()
        self.poison, self.error, self.times = poison, error, times
        self.offers = 0

    def publish(self, parsed_batch: list[Parsed]) -> None:
        """Refuse the poisoned batch the first `times` offers; record every other one."""
        if any(row[5] == T0 + self.poison for p in parsed_batch for row in p.ticks):
            with self.cond:
                self.offers += 1
                self.cond.notify_all()
            if self.offers <= self.times:
                raise self.error
        super().publish(parsed_batch)


def test_a_batch_refused_for_good_is_dropped_once_and_the_feed_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = Refusing(1, ValueError("cannot take this"), times=1_000)

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        conn.send(ticker(1))
        sink.wait(lambda: sink.offers == 1)
        conn.send(ticker(2))
        server.hold(conn, number)

    with serving(script) as server, running(Stream(public_feed(server.url()), sink, FAST)):
        sink.wait(lambda: len(sink.ticks) == 1)
        assert server.connections == 1
    assert [row[5] - T0 for row in sink.ticks] == [2]
    assert sink.offers == 1  # never offered again, and never before the next frames
    assert "the sink refused 1 rows and events; dropped" in caplog.text


def test_a_batch_refused_for_now_is_offered_again_first_after_a_reconnect() -> None:
    sink = Refusing(1, ConnectionError("the store is away"), times=1)

    def script(server: WsServer, conn: ServerConnection, number: int) -> None:
        server.recv(conn, number)
        conn.send(ticker(1) if number == 1 else ticker(2))
        server.hold(conn, number)

    with serving(script) as server, running(Stream(public_feed(server.url()), sink, FAST)):
        sink.wait(lambda: len(sink.ticks) == 2)
        assert server.connections == 2
    assert [row[5] - T0 for row in sink.ticks] == [1, 2]
    assert sink.offers == 2
    statuses = [s.status for s in sink.statuses]
    assert statuses[:3] == ["connected", "disconnected", "connected"]
    assert "ConnectionError: the store is away" in sink.statuses[1].detail
