"""One HTTP request to a venue's REST API over the standard library, for every venue's client.

A venue client signs and builds the request, then reads the status, headers and body it gets
back: any HTTP status is a reply (the venue's JSON says why). A failure before the request was
sent (refused connection, connect timeout) is ExchangeUnavailable; one after it left (timeout
waiting for the answer, connection cut) is OutcomeUnknown, since the venue may have carried it
out: a client whose call changes state looks it up before sending it again, one that only reads
may treat it as ExchangeUnavailable. Nothing here sees a secret in an error text: the URL and
the exception's reason are all it reports.

Connections are kept alive per thread and server (a TLS handshake to a venue costs more than
the order it carries): see send(). A thread may ask to be told when its requests that change
state have left (on_sent()): an order's latency ends there, not when its answer comes.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import Message
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ValidationError

from watcher.errors import ConfigError, ExchangeUnavailable, OutcomeUnknown, UnknownMessage

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", covariant=True)


class Convertible(Protocol[E]):
    """A validated REST record that converts itself to a canonical event."""

    def to_event(self, venue: str, account: str) -> E:
        """Return the event."""

    def model_dump_json(self) -> str:
        """Return the record as JSON (for a sample)."""


class Reply(NamedTuple):
    """An HTTP reply: status, headers, body."""

    status: int
    headers: Message
    body: bytes


def check_base_url(venue: str, url: str) -> str:
    """Return a REST base URL without its trailing slash; refuse anything but http(s)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{venue}: REST URL must be http(s), got {url!r}")
    return url.rstrip("/")


# A connection is kept, per thread and server, for the next request (keep-alive): a new one
# costs a TCP (and TLS) handshake on an order's path. One idle longer than this is closed
# instead of reused: servers close idle connections, and a request sent on one the server has
# closed fails after it left (ambiguous for an order: it is then looked up before any resend).
IDLE_SECONDS = 10.0


class _Kept(threading.local):
    """This thread's open connections, by (scheme, host:port), with when each was last used,
    and what to call when one of its requests that change state has left (on_sent())."""

    def __init__(self) -> None:
        self.conns: dict[tuple[str, str], tuple[http.client.HTTPConnection, float]] = {}
        self.on_sent: Callable[[], None] | None = None
        self.sent_ms = 0  # when the last request that changes state left (epoch ms)


_kept = _Kept()


@contextmanager
def on_sent(callback: Callable[[], None]) -> Iterator[None]:
    """Within the block, call `callback` on this thread each time a request other than a GET
    has been written whole to its connection, before its answer is awaited (not through a
    proxy: urllib sends and reads in one call)."""
    before, _kept.on_sent = _kept.on_sent, callback
    try:
        yield
    finally:
        _kept.on_sent = before


def sent_ms() -> int:
    """Return when this thread's last request that changes state was written whole to its
    connection (epoch ms; 0: none yet): an order's latency ends there (see on_sent)."""
    return _kept.sent_ms


def send(
    url: str, method: str, body: bytes | None, headers: dict[str, str], timeout: float, what: str
) -> Reply:
    """Send one request; return the reply whatever its status, or raise ExchangeUnavailable
    (nothing was sent) or OutcomeUnknown (it was sent, no answer came).

    The connection of the thread's last request to that server is reused; one the server
    closed meanwhile is replaced, and the request sent again, when nothing can have been
    carried out twice: the request had not left, or it only reads (GET). Through a proxy
    (urllib's *_proxy variables) each request has a connection of its own. `url` must have
    been checked by check_base_url; `what` names the call in error texts.
    """
    parts = urlsplit(url)
    if _proxied(url):
        return _send_through_urllib(url, method, body, headers, timeout, what)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    key = (parts.scheme, parts.netloc)
    while True:
        conn, reused = _connection(key, timeout)
        try:
            return _exchange(conn, key, method, target, body, headers, what, reused)
        except _Stale:
            continue  # the server had closed the kept connection: a fresh one, once


class _Stale(Exception):
    """A kept connection the server had closed; the request may be sent on a fresh one."""


def _connection(key: tuple[str, str], timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """Return the thread's kept connection to the server (its timeout set), or a new one."""
    kept = _kept.conns.pop(key, None)
    if kept is not None:
        conn, used = kept
        sock = conn.sock
        if time.monotonic() - used <= IDLE_SECONDS and sock is not None and not _dropped(sock):
            conn.timeout = timeout
            sock.settimeout(timeout)
            return conn, True
        conn.close()
    scheme, netloc = key
    factory = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return factory(netloc, timeout=timeout), False


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle connection has something to read: the server closed it (or broke the
    protocol); either way it must not carry another request."""
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)


def _exchange(
    conn: http.client.HTTPConnection,
    key: tuple[str, str],
    method: str,
    target: str,
    body: bytes | None,
    headers: dict[str, str],
    what: str,
    reused: bool,
) -> Reply:
    try:
        conn.request(method, target, body=body, headers=headers)
    except (OSError, http.client.HTTPException) as exc:
        # Connecting or sending failed: the request never arrived whole.
        conn.close()
        if reused:
            raise _Stale from None
        raise ExchangeUnavailable(f"{what}: {type(exc).__name__}: {exc}") from None
    if method != "GET":
        _kept.sent_ms = int(time.time() * 1000)
        if _kept.on_sent is not None:
            _kept.on_sent()
    try:
        response = conn.getresponse()
        reply = Reply(int(response.status), response.headers, response.read())
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        # A kept connection closed under the request (no answer at all): a read may go again;
        # anything else may have been carried out.
        closed = isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError)
        if reused and closed and method == "GET":
            raise _Stale from None
        # Raised while waiting for or reading the answer: the request did leave.
        raise OutcomeUnknown(f"{what}: {type(exc).__name__}: {exc}") from None
    if response.will_close:
        conn.close()
    else:
        _kept.conns[key] = (conn, time.monotonic())
    return reply


def _proxied(url: str) -> bool:
    """Whether urllib would send `url` through a proxy (HTTPS_PROXY and the like, NO_PROXY)."""
    parts = urlsplit(url)
    return parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(
        parts.hostname or ""
    )


def _send_through_urllib(
    url: str, method: str, body: bytes | None, headers: dict[str, str], timeout: float, what: str
) -> Reply:
    """send() through urllib's opener (its proxies), a connection per request."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked by check_base_url
        url, data=body, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Reply(int(response.status), response.headers, bytes(response.read()))
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, exc.headers, exc.read())
    except urllib.error.URLError as exc:
        # urllib wraps what fails while connecting and sending: the request never arrived whole.
        raise ExchangeUnavailable(f"{what}: {type(exc).__name__}: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        # Raised while waiting for or reading the answer: the request did leave.
        raise OutcomeUnknown(f"{what}: {type(exc).__name__}: {exc}") from None


def retry_after(headers: Message | None) -> float | None:
    """Return a Retry-After header's seconds, or None (absent, or an HTTP date)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value else None
    except ValueError:  # an HTTP date: let the caller's backoff decide
        return None


def converted(venue: str, item: Convertible[E], account: str) -> E:
    """Return a record's event, or raise UnknownMessage when it holds a value the event refuses
    (an amount or a time out of watcher.sanity's bounds)."""
    try:
        return item.to_event(venue, account)
    except ValueError as exc:  # pydantic's ValidationError; utc_from_ms's
        reason = f"{type(item).__name__} record with a value out of range ({type(exc).__name__})"
        raise UnknownMessage(venue, reason, item.model_dump_json()) from None


def record(venue: str, model: type[M], item: Any) -> M:
    """Validate one record of a REST reply, or raise UnknownMessage naming the model."""
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        reason = f"{model.__name__} record with {exc.error_count()} bad field(s)"
        raise UnknownMessage(venue, reason, orjson.dumps(item)) from None
