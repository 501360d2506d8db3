"""Signed Bybit v5 REST calls (sent by watcher/venues/http.py), each failure sorted by what to do.

https://bybit-exchange.github.io/docs/v5/guide#authentication
https://bybit-exchange.github.io/docs/v5/error

A request is signed over exactly what is sent: the query string of a GET, the JSON body of a
POST. Reads (GET) have no effect, so any failure of theirs is ExchangeUnavailable or, when Bybit
refuses, RequestRejected. A write (POST) refused is OrderRejected; one that failed after it left
(no answer, 5xx, Bybit's internal error) is OutcomeUnknown: look the order up before resending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any
from urllib.parse import quote

import orjson

from watcher.errors import (
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
    UnknownMessage,
)
from watcher.venues.bybit.auth import BybitCredentials, rest_headers
from watcher.venues.http import check_base_url, retry_after, send

VENUE = "bybit"
# Not carried out, ask again later: recv window missed, API and IP rate limits.
BUSY = frozenset({10002, 10006, 10018})
INTERNAL_ERROR = 10016  # may or may not have been carried out

log = logging.getLogger(__name__)


def default_rest_url(testnet: bool = False, demo: bool = False) -> str:
    """Return the REST host: live, testnet, demo trading, or demo on testnet."""
    host = "api" + ("-demo" if demo else "") + ("-testnet" if testnet else "")
    return f"https://{host}.bybit.com"


def query_string(params: Mapping[str, str | int]) -> str:
    """Return a GET query as signed and sent: keys sorted (as pybit does), values escaped.

    A "%" stays as it is: the nextPageCursor Bybit hands back is already escaped, and goes back
    the way it came.
    """
    return "&".join(f"{k}={quote(str(v), safe='%')}" for k, v in sorted(params.items()))


class BybitHttp:
    """Signed requests for one API key and account; secrets never reach a log or an error."""

    def __init__(
        self,
        credentials: BybitCredentials,
        base_url: str,
        *,
        account: str = "",
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = check_base_url(VENUE, base_url)
        self.account = account  # the label the events it returns carry
        self.timeout = timeout
        self._credentials = credentials
        self._clock = clock

    def pages(self, path: str, params: dict[str, str | int], category: str) -> list[Any]:
        """Return every item of a cursor-paged list."""
        items: list[Any] = []
        cursors: set[str] = set()
        while True:
            result = self.get(path, params)
            page = listed(result, category, path)
            items += page
            cursor = str(result.get("nextPageCursor") or "")
            if not page or not cursor or cursor in cursors:
                return items
            cursors.add(cursor)
            params = {**params, "cursor": cursor}

    def get(self, path: str, params: Mapping[str, str | int]) -> dict[str, Any]:
        """Send a signed read; return its result. Nothing about a read is unknown."""
        query = query_string(params)
        try:
            status, headers, raw = self._send("GET", path + (f"?{query}" if query else ""), query)
        except OutcomeUnknown as exc:
            raise ExchangeUnavailable(str(exc)) from None
        if status in (403, 429) or status >= 500:  # 403: the IP's rate limit (10 minutes)
            wait = retry_after(headers) or (600.0 if status == 403 else None)
            raise ExchangeUnavailable(f"bybit GET {path}: HTTP {status}", retry_after=wait)
        code, message, result = envelope(raw, status, path)
        if code in BUSY or code == INTERNAL_ERROR:
            wait = _reset_after(headers.get("X-Bapi-Limit-Reset-Timestamp"), self._clock())
            raise ExchangeUnavailable(f"bybit GET {path}: {code} {message}", retry_after=wait)
        if code != 0 or status >= 400:
            raise RequestRejected(VENUE, str(code or status), message)
        return result

    def post(self, path: str, params: dict[str, Any], client_order_id: str) -> dict[str, Any]:
        """Send a signed write; return its result, or raise what the reply means."""
        body = orjson.dumps(params).decode()  # signed exactly as sent
        status, headers, raw = self._send("POST", path, body)
        if status in (403, 429):  # the limiters refuse before the order is looked at
            wait = retry_after(headers) or (600.0 if status == 403 else None)
            raise ExchangeUnavailable(f"bybit {path}: HTTP {status}", retry_after=wait)
        if status >= 500:
            raise OutcomeUnknown(f"bybit {path}: HTTP {status}", retry_after=retry_after(headers))
        try:
            code, message, result = envelope(raw, status, path)
        except RequestRejected as exc:  # a 4xx without Bybit's JSON
            raise OrderRejected(VENUE, exc.code, exc.message, client_order_id) from None
        if code in BUSY:
            wait = _reset_after(headers.get("X-Bapi-Limit-Reset-Timestamp"), self._clock())
            raise ExchangeUnavailable(f"bybit {path}: {code} {message}", retry_after=wait)
        if code == INTERNAL_ERROR:
            raise OutcomeUnknown(f"bybit {path}: {code} {message}")
        if code != 0 or status >= 400:
            log.warning("bybit %s: HTTP %s, retCode %s", path, status, code)
            raise OrderRejected(VENUE, str(code or status), message, client_order_id)
        return result

    def _send(self, method: str, target: str, payload: str) -> tuple[int, Message, bytes]:
        """Sign and send; raise ExchangeUnavailable (not sent) or OutcomeUnknown (no answer)."""
        headers = rest_headers(self._credentials, int(self._clock() * 1000), payload)
        headers["Content-Type"] = "application/json"
        body = payload.encode() if method == "POST" else None
        what = f"bybit {method} {target.partition('?')[0]}"
        reply = send(self.base_url + target, method, body, headers, self.timeout, what)
        return reply.status, reply.headers, reply.body


def envelope(raw: bytes, status: int, path: str) -> tuple[int, str, dict[str, Any]]:
    """Return (retCode, retMsg, result) of a reply; RequestRejected for a 4xx without them,
    UnknownMessage for any other reply that is not Bybit's JSON."""
    try:
        reply = orjson.loads(raw)
        code, message, result = (
            int(reply["retCode"]),
            str(reply.get("retMsg", "")),
            reply.get("result"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        if status >= 400:
            raise RequestRejected(VENUE, str(status), f"HTTP {status}") from None
        raise UnknownMessage(VENUE, f"{path}: unreadable reply", raw) from None
    return code, message, result if type(result) is dict else {}


def listed(result: dict[str, Any], category: str, path: str) -> list[Any]:
    """Return a result's list, each item given the category the result names once."""
    items = result.get("list")
    if type(items) is not list or not all(type(i) is dict for i in items):
        raise UnknownMessage(VENUE, f"{path}: a result without a list", orjson.dumps(result))
    return [{**item, "category": result.get("category") or category} for item in items]


def _reset_after(reset_ms: str | None, now: float) -> float | None:
    """Return seconds until X-Bapi-Limit-Reset-Timestamp, or None when absent or past."""
    try:
        wait = (int(reset_ms) - now * 1000) / 1000 if reset_ms else None
    except ValueError:
        return None
    return wait if wait is not None and wait > 0 else None
