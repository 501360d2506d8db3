"""Signed OKX v5 REST calls (sent by watcher/venues/http.py), each failure sorted by what to do.

https://www.okx.com/docs-v5/en/#overview-rest-authentication
https://www.okx.com/docs-v5/en/#error-code-rest-api

Reads (GET) have no effect, so any failure of theirs is ExchangeUnavailable: ask again. A write
(POST: place, cancel) that fails after its bytes left may have been carried out; that is
OutcomeUnknown, and the caller looks the order up by client id before sending it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import orjson

from watcher.errors import (
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
    UnknownMessage,
)
from watcher.venues.http import check_base_url, retry_after, send
from watcher.venues.okx.auth import OkxCredentials, rest_sign, rest_timestamp

LIVE_REST_URL = "https://www.okx.com"
VENUE = "okx"
# OKX codes meaning "not carried out, slow down": rate limits and "systems are busy".
BUSY_CODES = frozenset({"50011", "50013", "50061"})
# OKX codes meaning "timed out; does not mean that the request was successful or failed".
UNKNOWN_OUTCOME_CODES = frozenset({"50004", "51054", "51149"})

log = logging.getLogger(__name__)

Json = dict[str, Any]


def _envelope(raw: bytes | str) -> tuple[str, str, list[Json]]:
    """Returns (code, msg, data) of an OKX reply, or raises UnknownMessage."""
    try:
        reply = orjson.loads(raw)
        code, message = str(reply["code"]), str(reply.get("msg", ""))
        data = reply.get("data") or []
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise TypeError("data is not a list of objects")
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise UnknownMessage(VENUE, "unreadable REST reply", raw) from None
    return code, message, data


def _raise_for(code: str, message: str, what: str, retry_after: float | None = None) -> None:
    """Raises the unavailable kinds a non-zero OKX code may stand for; returns for the rest."""
    if code in BUSY_CODES:
        raise ExchangeUnavailable(f"okx {what}: {code} {message}", retry_after=retry_after)
    if code in UNKNOWN_OUTCOME_CODES:
        raise OutcomeUnknown(f"okx {what}: {code} {message}", retry_after=retry_after)


def read_order_response(raw: bytes | str, client_order_id: str = "") -> str:
    """Return the order id (ordId; algoId for algo orders) of a reply, or raise OrderRejected."""
    code, message, results = _envelope(raw)
    first = results[0] if results else {}
    s_code, s_msg = str(first.get("sCode", "")), str(first.get("sMsg", ""))
    if s_code not in ("", "0"):
        # The per-order result carries the real reason even when the top-level code is 1 or 2.
        _raise_for(s_code, s_msg, f"order {client_order_id or '?'}")
        sub_code = str(first.get("subCode") or "")
        raise OrderRejected(VENUE, s_code, s_msg, client_order_id, sub_code)
    if code != "0":
        _raise_for(code, message, f"order {client_order_id or '?'}")
        raise OrderRejected(VENUE, code, message, client_order_id)
    if not first:
        raise UnknownMessage(VENUE, "order response without a result", raw)
    return str(first.get("ordId") or first.get("algoId") or "")


class OkxHttp:
    """Signed requests for one API key and account; secrets never reach a log or an error."""

    def __init__(
        self,
        credentials: OkxCredentials,
        base_url: str = LIVE_REST_URL,
        *,
        demo: bool = False,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        account: str = "",
    ) -> None:
        self._credentials = credentials
        self.account = account  # the label the events it returns carry
        self.base_url = check_base_url(VENUE, base_url)
        self.demo = demo
        self.timeout = timeout
        self._clock = clock

    def get(self, path: str, params: Mapping[str, str] | None = None) -> list[Json]:
        """GET a signed read and return its `data`; raise RequestRejected for an OKX code."""
        query = urlencode({k: v for k, v in (params or {}).items() if v})
        target = f"{path}?{query}" if query else path
        try:
            status, retry_after, reply = self._send("GET", target, b"")
        except OutcomeUnknown as exc:  # a read has no effect: nothing is unknown about it
            raise ExchangeUnavailable(str(exc)) from None
        if status == 429 or status >= 500:
            raise ExchangeUnavailable(f"okx GET {path}: HTTP {status}", retry_after=retry_after)
        try:
            code, message, data = _envelope(reply)
        except UnknownMessage:
            if status >= 400:
                raise RequestRejected(VENUE, str(status), f"HTTP {status}") from None
            raise
        if code != "0":
            _raise_for(code, message, f"GET {path}", retry_after)
            raise RequestRejected(VENUE, code, message)
        return data

    def post(self, path: str, params: Mapping[str, object], client_order_id: str) -> str:
        """POST a signed order request and return the order id it names."""
        body = orjson.dumps(params).decode()  # signed exactly as sent
        status, retry_after, reply = self._send("POST", path, body.encode())
        if status == 429:  # OKX's limiter refuses before the order is looked at
            raise ExchangeUnavailable(f"okx {path}: HTTP {status}", retry_after=retry_after)
        if status >= 500:
            raise OutcomeUnknown(f"okx {path}: HTTP {status}", retry_after=retry_after)
        if status >= 400:
            # Bad parameters, key, sign or timestamp: OKX's code and msg say which.
            log.warning("okx %s: HTTP %s", path, status)
            try:
                read_order_response(reply, client_order_id)
            except UnknownMessage:  # not OKX's JSON: the status is all we have
                raise OrderRejected(VENUE, str(status), f"HTTP {status}", client_order_id) from None
            raise OrderRejected(VENUE, str(status), f"HTTP {status}", client_order_id)
        return read_order_response(reply, client_order_id)

    def _headers(self, method: str, target: str, body: str) -> dict[str, str]:
        timestamp = rest_timestamp(self._clock())
        creds = self._credentials
        headers = {
            "Content-Type": "application/json",
            "OK-ACCESS-KEY": creds.api_key.get_secret_value(),
            "OK-ACCESS-SIGN": rest_sign(
                creds.secret_key.get_secret_value(), timestamp, method, target, body
            ),
            "OK-ACCESS-TIMESTAMP": timestamp,
            "OK-ACCESS-PASSPHRASE": creds.passphrase.get_secret_value(),
        }
        if self.demo:
            headers["x-simulated-trading"] = "1"
        return headers

    def _send(self, method: str, target: str, body: bytes) -> tuple[int, float | None, bytes]:
        """Returns (status, Retry-After, body); raises ExchangeUnavailable when nothing was
        sent and OutcomeUnknown when the request left but no answer came."""
        headers = self._headers(method, target, body.decode())
        what = f"okx {method} {target}"
        reply = send(self.base_url + target, method, body or None, headers, self.timeout, what)
        return reply.status, retry_after(reply.headers), reply.body
