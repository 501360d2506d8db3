"""A loopback HTTP server answering scripted replies and recording requests (venue REST tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    """What the local server answers to the next request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # stay silent until this is set (for timeouts)


@dataclass
class Seen:
    """One request the server received."""

    path: str  # with the query string, as sent
    headers: dict[str, str]  # names lower-cased: HTTP header names are case-insensitive
    body: str
    method: str = "POST"
    port: int = 0  # the client's: one per connection

    @property
    def query(self) -> str:
        """The query string, without the "?" ("" if none)."""
        return self.path.partition("?")[2]


class LocalHttp:
    """Answers each request with the next scripted Reply (or `default` when none is left) and
    records it as Seen."""

    def __init__(
        self, default: Reply | None = None, keep_alive: bool = False, idle: float | None = None
    ) -> None:
        """`keep_alive`: answer in HTTP/1.1, keeping each connection open for more requests,
        until it has been idle `idle` seconds (then it is closed, and its port recorded)."""
        self.replies: list[Reply] = []
        self.default = default
        self.seen: list[Seen] = []
        self.closed: list[int] = []  # client ports of the connections the server closed
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
            timeout = idle

            def finish(self) -> None:
                super().finish()
                owner.closed.append(self.client_address[1])

            def do_POST(self) -> None:
                self._answer("POST")

            def do_GET(self) -> None:
                self._answer("GET")

            def do_PUT(self) -> None:
                self._answer("PUT")

            def do_DELETE(self) -> None:
                self._answer("DELETE")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                owner.seen.append(Seen(self.path, headers, body, method, self.client_address[1]))
                reply = owner.replies.pop(0) if owner.replies else owner.default
                assert reply is not None, f"no reply scripted for {method} {self.path}"
                if reply.hold is not None:
                    reply.hold.wait(5)
                    return  # the client has given up by now: answer nothing
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
