"""Stream's own frame reading against a loopback server that writes raw RFC 6455 frames.

The server here decides every byte it sends (fragments, pings between them, masked frames, close
codes, invalid UTF-8), which a WebSocket library would not let a test do. It frames with the
websockets library's encoder; websocket-client (the Stream's side) masks what it sends, and the
server unmasks it by RFC 6455 section 5.3.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from websockets.frames import Frame, Opcode

from tests.recording_sink import Recorder
from tests.waiting import WAIT
from watcher.stream import Stream, StreamOptions
from watcher.venues.okx import Okx

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
T0 = 1_597_026_383_085  # the documented push's ts: frames are told apart by the ms after it
FAST = StreamOptions(backoff_base=0.01, backoff_cap=0.05, io_timeout=2.0)
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

pytestmark = pytest.mark.timeout(20)


def ticker(ts: int, market: str = "BTC-USDT") -> bytes:
    """The documented tickers push, compacted, `ts` ms later (and for `market`) to tell apart."""
    frame = orjson.loads((DATA / "okx_ws_tickers_push.json").read_bytes())
    frame["data"][0].update(ts=str(T0 + ts), instId=market)
    return orjson.dumps(frame)


def wire(opcode: Opcode, data: bytes, fin: bool = True, mask: bool = False) -> bytes:
    """One frame as websockets encodes it."""
    return Frame(opcode, data, fin=fin).serialize(mask=mask)


Script = Callable[["RawServer", socket.socket, int], None]


class RawServer:
    """Accepts WebSocket clients on loopback and runs `script(server, socket, number)` for each."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.received: dict[int, list[tuple[int, bytes]]] = {}  # client frames per connection
        self.cond = threading.Condition()
        self.listener = socket.create_server(("127.0.0.1", 0))
        scheme = "ws" if tls is None else "wss"
        self.url = f"{scheme}://127.0.0.1:{self.listener.getsockname()[1]}/ws/v5/public"
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return  # closed: the test is over
            number += 1
            with self.cond:
                self.received[number] = []
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn: socket.socket, number: int) -> None:
        if self.tls is not None:
            conn = self.tls.wrap_socket(conn, server_side=True)
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID, usedforsecurity=False).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.script(self, conn, number)
            while self.recv(conn, number) is not None:
                pass  # keep recording until the client goes

    def recv(self, conn: socket.socket, number: int) -> tuple[int, bytes] | None:
        """Read one (masked) client frame and record (opcode, payload); None when it left."""
        try:
            head = _exactly(conn, 2)
            length = head[1] & 0x7F
            if length == 126:
                length = struct.unpack("!H", _exactly(conn, 2))[0]
            elif length == 127:
                length = struct.unpack("!Q", _exactly(conn, 8))[0]
            key = _exactly(conn, 4)
            data = bytes(b ^ key[i % 4] for i, b in enumerate(_exactly(conn, length)))
        except (ConnectionError, OSError):
            return None
        frame = (head[0] & 0x0F, data)
        with self.cond:
            self.received[number].append(frame)
            self.cond.notify_all()
        return frame

    def wait(self, predicate: Callable[[], bool]) -> None:
        """Block until predicate() holds or fail."""
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), "the server never saw what it waited for"


def _exactly(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the client left")
        data += chunk
    return data


@contextmanager
def streaming(
    script: Script, options: StreamOptions = FAST, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[RawServer, Recorder]]:
    """Run a RawServer and a Stream on it (OKX public feed for BTC-USDT) for the block."""
    server, sink = RawServer(script, tls), Recorder()
    (feed,) = Okx("main", public_url=server.url).feeds([("BTC-USDT", "last")], private=False)
    stream = Stream(feed, sink, options)
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        yield server, sink
    finally:
        stream.stop()
        thread.join(WAIT)
        server.listener.close()
        assert not thread.is_alive()


def subscribed(server: RawServer, conn: socket.socket, number: int) -> None:
    """Wait for the client's subscribe frame, as OKX would."""
    frame = server.recv(conn, number)
    assert frame is not None
    assert frame[0] == Opcode.TEXT.value


def test_a_fragmented_push_with_a_ping_between_its_fragments() -> None:
    whole = ticker(1)
    parts = [whole[:40], whole[40:90], whole[90:]]

    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        conn.sendall(
            wire(Opcode.TEXT, parts[0], fin=False)
            + wire(Opcode.PING, b"hb-1")
            + wire(Opcode.CONT, parts[1], fin=False)
            + wire(Opcode.PONG, b"unasked")
            + wire(Opcode.CONT, parts[2])
            + wire(Opcode.BINARY, ticker(2))  # binary data frames parse like text
        )

    with streaming(script) as (server, sink):
        sink.wait(lambda: len(sink.ticks) == 2)
        server.wait(lambda: (Opcode.PONG.value, b"hb-1") in server.received[1])
    assert [row[5] - T0 for row in sink.ticks] == [1, 2]
    assert sink.malformed == []


def test_invalid_utf8_is_a_malformed_frame_and_the_stream_goes_on() -> None:
    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        bad = ticker(1).replace(b"BTC-USDT", b"BTC-\xff\xfe", 1)  # not UTF-8: orjson refuses
        conn.sendall(wire(Opcode.TEXT, bad) + wire(Opcode.TEXT, ticker(2)))

    with streaming(script) as (_, sink):
        sink.wait(lambda: len(sink.ticks) == 1 and len(sink.malformed) == 1)
    assert [row[5] - T0 for row in sink.ticks] == [2]


def test_a_frame_bigger_than_the_read_buffer() -> None:
    push = orjson.loads(ticker(1))
    item = push["data"][0]
    push["data"] = [{**item, "instId": f"COIN{i}-USDT", "ts": str(T0 + i)} for i in range(600)]
    big = orjson.dumps(push)
    assert len(big) > 16_384 * 5

    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        conn.sendall(wire(Opcode.TEXT, big) + wire(Opcode.TEXT, ticker(600)))

    options = StreamOptions(read_size=16_384, backoff_base=0.01, backoff_cap=0.05)
    with streaming(script, options) as (_, sink):
        sink.wait(lambda: len(sink.ticks) == 601)
        assert [s.status for s in sink.statuses] == ["connected"]  # and no reconnect
    assert [row[5] - T0 for row in sink.ticks] == list(range(601))


def test_a_close_frame_is_answered_and_the_stream_reconnects() -> None:
    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        if number == 1:
            conn.sendall(
                wire(Opcode.TEXT, ticker(1))
                + wire(Opcode.CLOSE, struct.pack("!H", 1001) + b"going away")
                + wire(Opcode.TEXT, ticker(99))  # after a close: never read
            )
        else:
            conn.sendall(wire(Opcode.TEXT, ticker(2)))

    with streaming(script) as (server, sink):
        sink.wait(lambda: len(sink.ticks) == 2)
        server.wait(lambda: any(op == Opcode.CLOSE.value for op, _ in server.received[1]))
    assert [row[5] - T0 for row in sink.ticks] == [1, 2]
    drops = [s for s in sink.statuses if s.status == "disconnected"]
    assert drops[0].detail == "closed by the server (code 1001)"


@pytest.mark.parametrize(
    ("bad", "detail"),
    [
        (wire(Opcode.TEXT, b"{}", mask=True), "protocol error: the server masked a frame"),
        (bytes([0x83, 0x00]), "protocol error: unknown opcode 0x3"),
        (wire(Opcode.CONT, b"{}"), "protocol error: a continuation frame outside"),
    ],
    ids=["masked", "unknown opcode", "lone continuation"],
)
def test_a_protocol_violation_reconnects(bad: bytes, detail: str) -> None:
    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        if number == 1:
            conn.sendall(wire(Opcode.TEXT, ticker(1)) + bad)
        else:
            conn.sendall(wire(Opcode.TEXT, ticker(2)))

    with streaming(script) as (_, sink):
        sink.wait(lambda: len(sink.ticks) == 2)
    assert [row[5] - T0 for row in sink.ticks] == [1, 2]
    drops = [s for s in sink.statuses if s.status == "disconnected"]
    assert drops[0].detail.startswith(detail)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1, and its key (made by openssl)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_frames_over_tls_are_read_from_the_ssl_socket(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(cert))  # websocket-client trusts it
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)

    def script(server: RawServer, conn: socket.socket, number: int) -> None:
        subscribed(server, conn, number)
        # ~100 KB: frames cut across TLS records of up to 16 KB, in a 16 KB read buffer.
        conn.sendall(b"".join(wire(Opcode.TEXT, ticker(i)) for i in range(300)))

    options = StreamOptions(read_size=16_384, backoff_base=0.01, backoff_cap=0.05)
    with streaming(script, options, tls) as (_, sink):
        sink.wait(lambda: len(sink.ticks) == 300)
        assert [s.status for s in sink.statuses] == ["connected"]
    assert [row[5] - T0 for row in sink.ticks] == list(range(300))
