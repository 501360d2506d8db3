"""OKX v5 REST: signed order placement and cancellation over the standard library.

https://www.okx.com/docs-v5/en/#order-book-trading-trade-post-place-order
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from watcher.errors import ExchangeUnavailable, OrderRejected, UnknownMessage
from watcher.venues.http import check_base_url, retry_after, send
from watcher.venues.okx.auth import OkxCredentials, rest_sign, rest_timestamp

LIVE_REST_URL = "https://www.okx.com"
PLACE_ORDER_PATH = "/api/v5/trade/order"
CANCEL_ORDER_PATH = "/api/v5/trade/cancel-order"
VENUE = "okx"

log = logging.getLogger(__name__)


def read_order_response(raw: bytes | str, client_order_id: str = "") -> str:
    """Return the order id (ordId; algoId for algo orders) of a reply, or raise OrderRejected."""
    try:
        reply = orjson.loads(raw)
        code, message = str(reply["code"]), str(reply.get("msg", ""))
        results = reply.get("data") or []
        first: dict[str, Any] = results[0] if results else {}
        s_code, s_msg = str(first.get("sCode", "")), str(first.get("sMsg", ""))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        raise UnknownMessage(VENUE, "unreadable order response", raw) from None
    if s_code not in ("", "0"):
        # The per-order result carries the real reason even when the top-level code is 1 or 2.
        raise OrderRejected(VENUE, s_code, s_msg, client_order_id)
    if code != "0":
        raise OrderRejected(VENUE, code, message, client_order_id)
    if not first:
        raise UnknownMessage(VENUE, "order response without a result", raw)
    return str(first.get("ordId") or first.get("algoId") or "")


class OkxRest:
    """A signed OKX REST client for one API key; secrets never reach a log or an error."""

    def __init__(
        self,
        credentials: OkxCredentials,
        base_url: str = LIVE_REST_URL,
        *,
        demo: bool = False,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credentials = credentials
        self.base_url = check_base_url(VENUE, base_url)
        self.demo = demo
        self.timeout = timeout
        self._clock = clock

    def __repr__(self) -> str:
        return f"OkxRest(base_url={self.base_url!r}, demo={self.demo})"

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str,
        price: str | None = None,
        client_order_id: str | None = None,
        td_mode: str = "cash",
    ) -> str:
        """Place an order and return OKX's ordId; raise OrderRejected or ExchangeUnavailable."""
        params = {"instId": market, "tdMode": td_mode, "side": side, "ordType": ord_type}
        params["sz"] = size
        if price is not None:
            params["px"] = price
        if client_order_id:
            params["clOrdId"] = client_order_id
        return self._post(PLACE_ORDER_PATH, params, client_order_id or "")

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an order by ordId or clOrdId; raise OrderRejected if OKX refuses."""
        if not order_id and not client_order_id:
            raise ValueError("cancel_order needs order_id or client_order_id")
        params = {"instId": market}
        if order_id:
            params["ordId"] = order_id
        if client_order_id:
            params["clOrdId"] = client_order_id
        self._post(CANCEL_ORDER_PATH, params, client_order_id or "")

    def _post(self, path: str, params: dict[str, str], client_order_id: str) -> str:
        body = orjson.dumps(params).decode()  # signed exactly as sent
        timestamp = rest_timestamp(self._clock())
        creds = self._credentials
        headers = {
            "Content-Type": "application/json",
            "OK-ACCESS-KEY": creds.api_key.get_secret_value(),
            "OK-ACCESS-SIGN": rest_sign(
                creds.secret_key.get_secret_value(), timestamp, "POST", path, body
            ),
            "OK-ACCESS-TIMESTAMP": timestamp,
            "OK-ACCESS-PASSPHRASE": creds.passphrase.get_secret_value(),
        }
        if self.demo:
            headers["x-simulated-trading"] = "1"
        status, retry_after, reply = self._send(path, body.encode(), headers)
        if status == 429 or status >= 500:
            raise ExchangeUnavailable(f"okx {path}: HTTP {status}", retry_after=retry_after)
        if status >= 400:
            # Bad parameters, key, sign or timestamp: OKX's code and msg say which.
            log.warning("okx %s: HTTP %s", path, status)
            with contextlib.suppress(UnknownMessage):  # not OKX's JSON: the status is all we have
                read_order_response(reply, client_order_id)
            raise OrderRejected(VENUE, str(status), f"HTTP {status}", client_order_id)
        return read_order_response(reply, client_order_id)

    def _send(
        self, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, float | None, bytes]:
        reply = send(self.base_url + path, "POST", body, headers, self.timeout, f"okx {path}")
        return reply.status, retry_after(reply.headers), reply.body
