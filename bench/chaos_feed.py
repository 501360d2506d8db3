"""The chaos soak's public feed: bench/loadgen.py's paced OKX tickers, to a watcher that dies.

bench/loadgen.py serves one watcher for a fixed set of phases; here the watcher is killed and
restarted at random, so the server accepts connection after connection and pumps its frames at
the same aggregate rate to whichever watcher is connected, until the parent says stop. Frames
sent while no watcher is connected are not sent at all (the exchange does not queue them either).
"""

from __future__ import annotations

import socket
import threading
from multiprocessing.connection import Connection

from bench.loadgen import Load, _handshake, _Pump, build_frames

_SLICE_S = 0.5  # pump this long between looks at the stop flag


def serve_forever(load: Load, rate: int, report: Connection) -> None:
    """Listen, report ("port", n), pump to each watcher in turn; on "stop" report ("sent", n)."""
    buf, ends, ts_at = build_frames(load)
    stop = threading.Event()
    sent = 0
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(_SLICE_S)
        report.send(("port", srv.getsockname()[1]))
        threading.Thread(target=_stop_on_word, args=(report, stop), daemon=True).start()
        pump_at = 0
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            with conn:
                pump_at, n = _pump_one(conn, buf, ends, ts_at, rate, stop, pump_at)
                sent += n
        report.send(("sent", sent))


def _stop_on_word(report: Connection, stop: threading.Event) -> None:
    report.recv()
    stop.set()


def _pump_one(
    conn: socket.socket,
    buf: bytearray,
    ends: list[int],
    ts_at: list[int],
    rate: int,
    stop: threading.Event,
    start_at: int,
) -> tuple[int, int]:
    """Pump to one watcher until it goes away or stop; return where the round stopped, frames."""
    sent = 0
    pump = _Pump(conn, buf, ends, ts_at)
    pump.i = start_at
    try:
        conn.settimeout(10.0)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _handshake(conn)
        conn.recv(65536)  # the subscribe request(s)
        conn.setblocking(False)
        while not stop.is_set():
            _discard_pings(conn)
            conn.setblocking(True)
            n, _ = pump.run(rate, _SLICE_S)
            conn.setblocking(False)
            sent += n
    except (ConnectionError, TimeoutError, OSError):
        pass  # the watcher died (kill -9) or never finished its handshake
    return pump.i, sent


def _discard_pings(conn: socket.socket) -> None:
    """Read what the watcher sent (its text pings) so its send buffer never fills."""
    try:
        while conn.recv(65536):
            pass
    except BlockingIOError:
        return
    raise ConnectionError("watcher closed the connection")
