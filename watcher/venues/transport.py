"""One HTTP request for a venue's REST client, over the standard library.

A reply of any status comes back as data (the venue reads its own error codes from the body);
only a request that got no reply raises, as ExchangeUnavailable, naming the host and path but
never the query (a signed query holds the signature and sometimes a listen key).
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from email.message import Message
from typing import NamedTuple
from urllib.parse import urlsplit

from watcher.errors import ConfigError, ExchangeUnavailable


class Reply(NamedTuple):
    """What the server answered: status, Retry-After in seconds when given, and the body."""

    status: int
    retry_after: float | None
    body: bytes


def check_base_url(venue: str, url: str) -> str:
    """Return a REST base URL without its trailing slash; refuse anything but http(s)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{venue}: REST URL must be http(s), got {url!r}")
    return url.rstrip("/")


def retry_after(headers: Message | None) -> float | None:
    """Return a Retry-After header's seconds, or None (absent, or an HTTP date)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value else None
    except ValueError:  # an HTTP date: let the caller's backoff decide
        return None


def send(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float = 10.0,
    label: str = "",
) -> Reply:
    """Send one request to an http(s) URL (checked by the caller) and return the reply."""
    request = urllib.request.Request(  # noqa: S310 - the base URL's scheme was checked
        url, data=body, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Reply(int(response.status), None, bytes(response.read()))
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, retry_after(exc.headers), exc.read())
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        where = label or urlsplit(url).path
        raise ExchangeUnavailable(f"{where}: {type(exc).__name__}: {reason}") from None
