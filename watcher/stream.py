"""WebSocket lifecycle, generic over venues: connect, log in, subscribe, read, heartbeat, reconnect.

A Stream holds one Feed's connection in the thread that calls run(). websocket-client connects,
upgrades, sends and closes; frames are read by watcher.frames straight from its socket, a batch
per read: one read takes every byte already there (the socket's, and what TLS has decrypted),
and every complete frame in them, up to a cap, goes to the sink in one call, so the publisher
writes one Redis pipeline per WebSocket read. What the sink could not take for now (its
`transient` errors) is kept and offered again first, in order; what it refuses for good is
logged and dropped, so one poisoned batch never blocks the feed. The Feed carries everything
venue-specific (URL, login, subscriptions, heartbeat, maximum connection age, resync hook,
parse); nothing here names a venue. A login frame is sent, never logged; of a URL only the
host is. A Stream also keeps, for the watcher's monitor (watcher/monitor.py, another thread),
when it was last usable and when data last came.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import websocket

from watcher.errors import ExchangeError, UnknownMessage, sample
from watcher.events import FeedState, FeedStatus
from watcher.frames import FrameReader
from watcher.venues import Feed, Parsed

log = logging.getLogger(__name__)

_MIN_REREAD = 65_536  # read again at once only while this much room is left
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
_FATAL: frozenset[FeedState] = frozenset({"closing", "login_failed"})


class Sink(Protocol):
    """Where a Stream delivers its batches (the Publisher, in production)."""

    # What publish() raises when the batch may be offered again (the store is away for now):
    # the Stream keeps it, reconnects and offers it first. Anything else is a refusal for good.
    transient: tuple[type[Exception], ...]

    def publish(self, parsed_batch: list[Parsed]) -> None:
        """Take one read's worth of parsed frames."""

    def count_malformed(self, feed: str) -> None:
        """Count one skipped frame of `feed`."""


@dataclass(frozen=True)
class StreamOptions:
    """Timings (seconds) and limits of a Stream; the heartbeat's are the Feed's (the venue's)."""

    login_timeout: float = 10.0
    connect_timeout: float = 10.0
    io_timeout: float = 10.0  # bounds a send, or a TLS record's read once its first bytes came
    batch_cap: int = 2_000  # frames per sink call; one read of read_size holds ~3,000 tickers
    read_size: int = 1 << 20  # the read buffer (it grows for a frame bigger than this)
    max_message: int = 1 << 24  # a longer frame or message is a protocol error: reconnect
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    stable_after: float = 30.0  # a connection up this long resets the backoff


class _ReconnectError(Exception):
    """This connection must end; the text says why."""


class _RenewError(_ReconnectError):
    """This connection reached the feed's max_age: replace it at once, without backoff."""


class Stream:
    """Holds one feed's connection until stop(), reconnecting with capped, jittered backoff."""

    def __init__(self, feed: Feed, sink: Sink, options: StreamOptions | None = None) -> None:
        self.feed = feed
        self.options = options or StreamOptions()
        self.attempts = 0  # connection attempts so far
        self.connections = 0  # connections established so far
        self._sink = sink
        self._label = f"{feed.venue} {feed.name}" + (f" ({feed.account})" if feed.account else "")
        self._host = ""  # of the URL last connected to; never its path: keys may be there
        self._stop = threading.Event()
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._ws: Any = None
        self._sock: socket.socket | None = None
        self._tls: ssl.SSLSocket | None = None  # the socket, when TLS buffers decrypted bytes
        self._reader = FrameReader()
        self._fd = -1
        self._poll = select.poll()
        self._connected_at = 0.0
        self._pending: list[Parsed] = []
        self._random = random.Random()
        self._renew = False  # the last connection ended at its max_age
        # Health, read by the monitor (time.monotonic() seconds). Usable: connected, logged in
        # if the feed logs in, subscribed.
        self.ready_since: float | None = None  # when it last became usable; None while not
        self.down_since = time.monotonic()  # when it last stopped being usable (or was made)
        self.last_data = 0.0  # when a read last brought ticks or events
        # The first of a run of refused logins (time, the venue's reason); None once one passes.
        self.login_failure: tuple[float, str] | None = None
        self.last_failure = ""  # why the last connection ended, or the last attempt failed

    def stop(self) -> None:
        """End run() promptly; safe to call from any thread, before or after run()."""
        self._stop.set()
        wake = self._wake
        if wake is not None:
            with contextlib.suppress(OSError):  # run() has already closed it
                wake[1].send(b"\0")

    def run(self) -> None:
        """Connect, read and reconnect until stop() is called."""
        self._wake = socket.socketpair()
        attempt = 0
        try:
            while not self._stop.is_set():
                reason = self._guard(self._session) or "stopped"
                self.last_failure = reason
                uptime = self._close(reason)
                self._guard(self._flush)
                if uptime is not None and uptime >= self.options.stable_after:
                    attempt = 0
                if self._stop.is_set():
                    log.info("%s disconnected from %s (%s)", self._label, self._host, reason)
                    break
                if self._renew:
                    self._renew = False
                    log.info("%s renews its connection to %s (%s)", self._label, self._host, reason)
                    continue
                delay = self.backoff(attempt)
                attempt += 1
                verb = "disconnected from" if uptime is not None else "could not connect to"
                log.info(
                    "%s %s %s (%s); retrying in %.1fs", self._label, verb, self._host, reason, delay
                )
                self._stop.wait(delay)
        finally:
            for end in self._wake:
                end.close()

    def _guard(self, step: Callable[[], None]) -> str | None:
        """Run one step of the loop; return why it failed, or None."""
        try:
            step()
        except _RenewError as exc:
            self._renew = True
            return str(exc)
        except _ReconnectError as exc:
            return str(exc)
        except (websocket.WebSocketException, OSError, ExchangeError) as exc:
            return f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # the one broad handler: nothing may kill a feed; it logs
            log.exception("%s: unexpected error", self._label)
            return f"{type(exc).__name__}: {exc}"
        return None

    def backoff(self, attempt: int) -> float:
        """Return the wait before reconnect number `attempt`: exponential, capped, jittered."""
        opt = self.options
        ceiling: float = min(opt.backoff_cap, opt.backoff_base * 2.0 ** min(attempt, 30))
        return ceiling * self._random.uniform(0.5, 1.0)

    def _session(self) -> None:
        self._flush()  # what the sink refused last time goes first
        if self._stop.is_set():
            return
        opt = self.options
        self.attempts += 1
        url = self.feed.url()  # at every connect: it may carry a fresh listen key
        self._host = urlsplit(url).netloc
        ws = websocket.create_connection(
            url,
            timeout=opt.connect_timeout,
            header=[f"{k}: {v}" for k, v in self.feed.headers.items()],
            skip_utf8_validation=True,  # the parser validates while decoding JSON
        )
        self._ws = ws
        self._connected_at = time.monotonic()
        self.connections += 1
        ws.settimeout(opt.io_timeout)
        sock = ws.sock
        if sock is None:
            raise _ReconnectError("the connection has no socket")
        # The handshake read its reply byte by byte: every frame byte is still in the socket.
        self._sock = sock
        self._tls = sock if isinstance(sock, ssl.SSLSocket) else None
        self._reader = FrameReader(opt.read_size, opt.max_message)
        self._fd = sock.fileno()
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        if self._wake is not None:
            self._poll.register(self._wake[0], select.POLLIN)
        log.info("%s connected to %s", self._label, self._host)
        self._emit([self._status("connected")])
        if self.feed.login is not None:
            ws.send(self.feed.login())
            if not self._await_login():
                return
            self.login_failure = None
        for frame in self.feed.subscribe:
            ws.send(frame)
        self.ready_since = time.monotonic()
        if self.feed.on_connected is not None:
            resync = [p for p in self.feed.on_connected() if p.ticks or p.events]
            if resync:
                self._emit(resync)
        self._read_loop()

    def _await_login(self) -> bool:
        deadline = time.monotonic() + self.options.login_timeout
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _ReconnectError(f"no login reply within {self.options.login_timeout:g}s")
            if self._readable(remaining):
                for parsed in self._read_batch():
                    if any(_is_status(e, "logged_in") for e in parsed.events):
                        return True
        return False

    def _read_loop(self) -> None:
        beat, max_age = self.feed.heartbeat, self.feed.max_age
        renew_at = math.inf if max_age is None else self._connected_at + max_age
        last_frame = time.monotonic()
        pinged_at: float | None = None
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= renew_at:
                raise _RenewError(f"connected for {max_age:g}s, the feed's limit")
            if pinged_at is None:
                wait = last_frame + beat.interval - now
                if wait <= 0:
                    if beat.frame is not None:
                        self._ws.send(beat.frame)
                    pinged_at = now
                    continue
            else:
                wait = pinged_at + beat.timeout - now
                if wait <= 0:
                    raise _ReconnectError(
                        f"no frame within {beat.timeout:g}s of a ping"
                        if beat.frame is not None
                        else f"no frame for {beat.interval + beat.timeout:g}s"
                    )
            if self._readable(min(wait, renew_at - now)):
                data = self._read_batch()
                last_frame = time.monotonic()
                if data:
                    self.last_data = last_frame
                pinged_at = None

    def _readable(self, timeout: float) -> bool:
        """Wait up to `timeout` for a frame; False on timeout or stop()."""
        # Bytes TLS decrypted but we did not take are invisible to poll(): ask pending(). (Our
        # reads offer at least 16 KB, a whole record, so this is a safety net.)
        if self._reader.ready() or (self._tls is not None and self._tls.pending()):
            return True
        ready = self._poll.poll(math.ceil(max(timeout, 0.0) * 1000))
        if self._stop.is_set():
            return False
        return any(fd == self._fd for fd, _ in ready)

    def _ready_now(self) -> bool:
        if self._tls is not None and self._tls.pending():
            return True
        return any(fd == self._fd and ev & _READABLE for fd, ev in self._poll.poll(0))

    def _read_batch(self) -> list[Parsed]:
        """Decode the frames already read (or read once, then decode); publish them as a batch."""
        reader = self._reader
        if not reader.ready():
            self._fill()
        batch: list[Parsed] = []
        parse = self.feed.parse
        try:
            for data in reader.decode(self.options.batch_cap):  # the hot loop, kept inline
                try:
                    parsed = parse(data)
                except (UnknownMessage, json.JSONDecodeError) as exc:
                    self._skip(data, exc)
                    continue
                if parsed.ticks or parsed.events:
                    batch.append(parsed)
        finally:
            if batch:
                self._emit(batch)
        for payload in reader.pings:
            self._ws.pong(payload)
        if reader.close is not None:
            raise _ReconnectError(f"closed by the server{_close_code(reader.close)}")
        if reader.error is not None:
            raise _ReconnectError(f"protocol error: {reader.error}")
        for parsed in batch:
            for event in parsed.events:
                if isinstance(event, FeedStatus) and event.status in _FATAL:
                    if event.status == "login_failed" and self.login_failure is None:
                        why = f"{event.code} {event.detail}".strip()
                        self.login_failure = (time.monotonic(), why)
                    raise _ReconnectError(f"{event.status} {event.code} {event.detail}".strip())
        return batch

    def _fill(self) -> None:
        """Read what the socket has, then more while more is already there and room is left."""
        reader, sock = self._reader, self._sock
        if sock is None:
            raise _ReconnectError("the connection has no socket")
        if reader.read(sock) == 0:
            raise websocket.WebSocketConnectionClosedException("the server closed the connection")
        while reader.room >= _MIN_REREAD and self._ready_now():
            if reader.read(sock) == 0:
                return  # the bytes read so far decode first; the next read sees the end again

    def _skip(self, data: bytes, exc: UnknownMessage | json.JSONDecodeError) -> None:
        """Log and count a frame the venue could not parse; the stream goes on."""
        why = exc.reason if isinstance(exc, UnknownMessage) else exc.msg
        log.warning(
            "%s: skipped a malformed frame (%s: %s): %s",
            self._label,
            type(exc).__name__,
            why,
            exc.sample if isinstance(exc, UnknownMessage) else sample(data),
        )
        self._sink.count_malformed(self.feed.name)

    def _emit(self, batch: list[Parsed]) -> None:
        self._pending.extend(batch)
        self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []  # rebind, never clear: the sink may keep it
        try:
            self._sink.publish(batch)
        except self._sink.transient:
            self._pending = batch  # offered again first, after the reconnect this raise causes
            raise
        except Exception:  # refused for good: offered again, it would block the feed forever
            lost = sum(len(p.ticks) + len(p.events) for p in batch)
            log.exception("%s: the sink refused %d rows and events; dropped", self._label, lost)

    def _close(self, reason: str) -> float | None:
        """Drop the connection; return how long it was up, or None if it never came up."""
        if self.ready_since is not None:
            self.down_since = time.monotonic()  # first: the monitor reads ready_since first
            self.ready_since = None
        ws, self._ws, self._sock = self._ws, None, None
        if ws is None:
            return None
        with contextlib.suppress(websocket.WebSocketException, OSError):
            ws.send_close()  # a courtesy: the peer may already be gone
        ws.shutdown()
        self._pending.append(self._status("disconnected", detail=reason))
        return time.monotonic() - self._connected_at

    def _status(self, status: FeedState, code: str = "", detail: str = "") -> Parsed:
        event = FeedStatus(
            venue=self.feed.venue,
            account=self.feed.account,
            feed=self.feed.name,
            status=status,
            code=code,
            detail=sample(detail),
            at=datetime.now(UTC),
        )
        return Parsed([], [event])


def _is_status(event: object, status: FeedState) -> bool:
    return isinstance(event, FeedStatus) and event.status == status


def _close_code(data: bytes) -> str:
    return f" (code {int.from_bytes(data[:2], 'big')})" if len(data) >= 2 else ""
