"""One HTTP request to a venue's REST API over the standard library, for every venue's client.

A venue client signs and builds the request, then reads the status, headers and body it gets
back: any HTTP status is a reply (the venue's JSON says why). A failure before the request was
sent (refused connection, connect timeout) is ExchangeUnavailable; one after it left (timeout
waiting for the answer, connection cut) is OutcomeUnknown, since the venue may have carried it
out: a client whose call changes state looks it up before sending it again, one that only reads
may treat it as ExchangeUnavailable. Nothing here sees a secret in an error text: the URL and
the exception's reason are all it reports.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
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


def send(
    url: str, method: str, body: bytes | None, headers: dict[str, str], timeout: float, what: str
) -> Reply:
    """Send one request; return the reply whatever its status, or raise ExchangeUnavailable
    (nothing was sent) or OutcomeUnknown (it was sent, no answer came).

    `url` must have been checked by check_base_url; `what` names the call in error texts.
    """
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
