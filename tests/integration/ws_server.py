"""A loopback WebSocket server that tests script per connection, and a Stream run for a block."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.waiting import WAIT
from watcher.stream import Stream

Script = Callable[["WsServer", ServerConnection, int], None]


class WsServer:
    """A loopback WebSocket server running `script(server, connection, number)` per client."""

    def __init__(self, script: Script, port: int = 0) -> None:
        self.script = script
        self.received: dict[int, list[str]] = defaultdict(list)
        self.notes: dict[str, Any] = {}
        self.connections = 0
        self.finished: set[int] = set()
        self.cond = threading.Condition()
        self.server = serve(self._handle, "127.0.0.1", port, ping_interval=None, compression=None)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/ws/v5/public") -> str:
        """The ws:// URL of `path` on this server."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def _handle(self, conn: ServerConnection) -> None:
        with self.cond:
            self.connections += 1
            number = self.connections
            self.cond.notify_all()
        try:
            self.script(self, conn, number)
        except ConnectionClosed:
            pass
        finally:
            with self.cond:
                self.finished.add(number)
                self.cond.notify_all()

    def recv(self, conn: ServerConnection, number: int, timeout: float = WAIT) -> str:
        """Receive and record one client message."""
        message = conn.recv(timeout, decode=True)
        with self.cond:
            self.received[number].append(message)
            self.cond.notify_all()
        return message

    def hold(self, conn: ServerConnection, number: int) -> None:
        """Record client messages until the client goes away."""
        while True:
            self.recv(conn, number, timeout=None)  # type: ignore[arg-type]

    def wait(self, predicate: Callable[[], bool]) -> None:
        """Block until predicate() holds or fail."""
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), "server never saw what it waited for"

    def close(self) -> None:
        """Close every connection and stop listening."""
        self.server.shutdown()
        self.thread.join(WAIT)


@contextmanager
def serving(script: Script, port: int = 0) -> Iterator[WsServer]:
    """Run a WsServer for the block."""
    server = WsServer(script, port)
    try:
        yield server
    finally:
        server.close()


@contextmanager
def running(stream: Stream) -> Iterator[threading.Thread]:
    """Run a Stream in a thread for the block; it must stop promptly afterwards."""
    thread = threading.Thread(target=stream.run, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stream.stop()
        thread.join(WAIT)
        assert not thread.is_alive()
