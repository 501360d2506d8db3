"""A local HTTP inbox for apprise's json:// notifications: the demo's channel and the tests'.

apprise's JSON plugin POSTs {"version", "title", "message", "type", ...} to the URL it is given;
the inbox keeps every payload, can print it and append it to a JSON-lines file, and can be told
to fail (a dead channel) or to answer 429 with a retry-after (a flooded chat) so tests exercise
retries and back-off against a real HTTP exchange.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

Payload = dict[str, Any]


class Inbox:
    """An HTTP server on 127.0.0.1 that records apprise json:// deliveries."""

    def __init__(
        self, port: int = 0, jsonl: Path | None = None, echo: TextIO | None = None
    ) -> None:
        self.received: list[Payload] = []  # accepted deliveries, with their "path"
        # Every attempt: (monotonic time, HTTP status answered, payload).
        self.attempts: list[tuple[float, int, Payload]] = []
        self.status = 200
        self.failures = 0  # answer this many next requests with 500 (a channel that recovers)
        # Answer this many next requests with 429, as Telegram's flood control does: the
        # Retry-After header (None: left out) and {"parameters": {"retry_after": N}}.
        self.throttled = 0
        self.retry_after: int | None = 1
        self._jsonl = jsonl
        self._echo = echo
        self._cond = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="inbox")
        self._thread.daemon = True

    def url(self, path: str = "alerts") -> str:
        """The apprise URL that delivers to this inbox under `path`."""
        return f"json://127.0.0.1:{self.port}/{path}"

    def start(self) -> Inbox:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait_for(self, predicate: Callable[[list[Payload]], bool], timeout: float) -> list[Payload]:
        """Block until predicate(received) holds; raise TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"inbox: condition not met in {timeout}s: {self.received}")
                self._cond.wait(left)
            return list(self.received)

    def _record(self, path: str, payload: Payload) -> int:
        with self._cond:
            status = self.status
            if self.throttled > 0:
                self.throttled -= 1
                status = 429
            elif self.failures > 0:
                self.failures -= 1
                status = 500
            self.attempts.append((time.monotonic(), status, payload))
            if status >= 400:
                self._cond.notify_all()
                return status
            if self._jsonl is not None:
                # Without the path: a channel URL's path may carry its token.
                with self._jsonl.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(payload, sort_keys=True) + "\n")
            payload = {**payload, "path": path}
            self.received.append(payload)
            if self._echo is not None:
                title = payload.get("title") or "alert"
                print(
                    f"\N{POLICE CARS REVOLVING LIGHT} {title}: {payload.get('message', '')}",
                    file=self._echo,
                    flush=True,
                )
            self._cond.notify_all()
            return 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self.send_response(400)
                    self.end_headers()
                    return
                status = inbox._record(self.path.lstrip("/"), payload)
                self.send_response(status)
                if status != 429:
                    self.end_headers()
                    return
                wait = inbox.retry_after
                # Telegram's answer to a flood (core.telegram.org/bots/api#responseparameters).
                body = {"ok": False, "error_code": 429, "description": "Too Many Requests"}
                if wait is not None:
                    self.send_header("Retry-After", str(wait))
                    body["parameters"] = {"retry_after": wait}
                data = json.dumps(body).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: the inbox prints alerts, not access logs."""

        return Handler

    def __enter__(self) -> Inbox:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
