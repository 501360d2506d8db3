"""A WebSocket server that pushes precomputed ticker frames of one venue (bench/venues.py: OKX,
Bybit, Binance) at a fixed aggregate rate.

It is the benchmark's exchange: it must never be the bottleneck, so it speaks just enough of
RFC 6455 over a raw socket (handshake, unmasked server text frames, client ping text), builds
every frame before the clock starts, and only patches the 13-digit timestamp at send time so the
watcher sees real exchange timestamps. It runs in its own process.
"""

from __future__ import annotations

import base64
import hashlib
import random
import socket
import struct
import time
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection

from bench.venues import VENUES, BenchVenue

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass(frozen=True)
class Load:
    """What to send: M markets, phases of (rate R frames/s in total, seconds), a seeded walk."""

    markets: int
    phases: tuple[tuple[int, float], ...]
    seed: int = 1
    steps: int = 64  # distinct prices per market, replayed round-robin
    start_price: str = "100.0"
    tick: str = "0.1"
    venue: str = "okx"  # a name in bench.venues.VENUES

    @property
    def speaks(self) -> BenchVenue:
        """The venue whose frames are sent."""
        return VENUES[self.venue]


def market_name(i: int, venue: str = "okx") -> str:
    """The i-th benchmark market, as the venue's rules name it."""
    return VENUES[venue].market(i)


def price_paths(load: Load) -> list[list[Decimal]]:
    """The seeded price path of every market: a walk of `steps` ticks of +-1..3 tick sizes."""
    rnd = random.Random(load.seed)
    tick, start = Decimal(load.tick), Decimal(load.start_price)
    paths = []
    for _ in range(load.markets):
        price, path = start, []
        for _ in range(load.steps):
            price += tick * rnd.choice((-3, -2, -1, 1, 2, 3))
            path.append(price)
        paths.append(path)
    return paths


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + struct.pack("!H", n) + payload
    return bytes((0x81, 127)) + struct.pack("!Q", n) + payload


def build_frames(load: Load) -> tuple[bytearray, list[int], list[int]]:
    """Every frame of one round (all markets, all steps), with their ends and ts offsets."""
    paths = price_paths(load)
    venue = load.speaks
    markets = [venue.market(m) for m in range(load.markets)]
    buf, ends, ts_at = bytearray(), [], []
    for step in range(load.steps):
        for m in range(load.markets):
            frame = _frame(venue.payload(markets[m], paths[m][step]))
            ts_at.append(len(buf) + frame.rindex(venue.ts_marker) + len(venue.ts_marker))
            buf += frame
            ends.append(len(buf))
    return buf, ends, ts_at


def _handshake(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("client left during the handshake")
        data += chunk
    key = next(
        line.split(b":", 1)[1].strip()
        for line in data.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID, usedforsecurity=False).digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )


def serve(load: Load, report: Connection) -> None:
    """Accept one watcher, wait for its first subscribe, push every phase; report progress.

    Sends ("port", n) once listening, ("phase", index, wall time) as each phase starts,
    ("sent", index, frames, seconds) as it ends, then ("done",). Holds the connection open
    until the parent sends anything, so the watcher sees no disconnect while it drains.
    """
    buf, ends, ts_at = build_frames(load)
    with socket.create_server(("127.0.0.1", 0)) as srv:
        report.send(("port", srv.getsockname()[1]))
        conn, _ = srv.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _handshake(conn)
            if load.speaks.subscribes:
                conn.recv(65536)  # the subscribe request(s): content does not matter here
            pump = _Pump(conn, buf, ends, ts_at)
            for index, (rate, seconds) in enumerate(load.phases):
                report.send(("phase", index, time.time()))
                sent, elapsed = pump.run(rate, seconds)
                report.send(("sent", index, sent, elapsed))
            report.send(("done",))
            report.recv()


class _Pump:
    """Sends the precomputed frames round-robin at a paced rate, in 5 ms slices."""

    def __init__(
        self, conn: socket.socket, buf: bytearray, ends: list[int], ts_at: list[int]
    ) -> None:
        self.conn, self.buf, self.ends, self.ts_at = conn, buf, ends, ts_at
        self.view = memoryview(buf)
        self.i = 0

    def run(self, rate: int, seconds: float) -> tuple[int, float]:
        per_slice = max(1, round(rate * 0.005))
        total = int(rate * seconds)
        n_frames = len(self.ends)
        sent = 0
        start = time.perf_counter()
        while sent < total:
            due = start + sent / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            i = self.i
            count = min(per_slice, total - sent, n_frames - i)
            ts = b"%013d" % int(time.time() * 1000)
            for k in range(i, i + count):
                self.buf[self.ts_at[k] : self.ts_at[k] + 13] = ts
            lo = self.ends[i - 1] if i else 0
            self.conn.sendall(self.view[lo : self.ends[i + count - 1]])
            sent += count
            self.i = (i + count) % n_frames
        return sent, time.perf_counter() - start
