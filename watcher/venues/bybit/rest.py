"""Bybit v5 REST: signed orders (with orderLinkId), order and fill queries, the key's rights.

https://bybit-exchange.github.io/docs/v5/order/create-order
A request is signed over exactly what is sent: the query string of a GET, the JSON body of a
POST. Replies say retCode 0 or why not; rate limits and server trouble are ExchangeUnavailable
(retry later), every other refusal is OrderRejected (do not retry).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, ValidationError

from watcher.errors import ExchangeUnavailable, OrderRejected, UnknownMessage
from watcher.events import Fill, OrderUpdate
from watcher.venues.bybit.auth import BybitCredentials, rest_headers
from watcher.venues.bybit.wire import BybitExecution, BybitOrder, split_market
from watcher.venues.http import check_base_url, retry_after, send

CREATE_ORDER_PATH = "/v5/order/create"
CANCEL_ORDER_PATH = "/v5/order/cancel"
OPEN_ORDERS_PATH = "/v5/order/realtime"
EXECUTIONS_PATH = "/v5/execution/list"
API_KEY_PATH = "/v5/user/query-api"
VENUE = "bybit"
WEEK_MS = 7 * 86_400_000  # /v5/execution/list answers at most 7 days per query
PAGE = 100  # the most /v5/execution/list returns per page
# Worth a retry (pybit retries these too): recv window missed, rate limit, internal errors.
RETRYABLE = frozenset({10002, 10006, 10016, 10019, 10429})
_SIDES = {"buy": "Buy", "sell": "Sell"}
_TYPES = {"market": "Market", "limit": "Limit"}

log = logging.getLogger(__name__)


def default_rest_url(testnet: bool = False, demo: bool = False) -> str:
    """Return the REST host: live, testnet, demo trading, or demo on testnet."""
    host = "api" + ("-demo" if demo else "") + ("-testnet" if testnet else "")
    return f"https://{host}.bybit.com"


def query_string(params: dict[str, str | int]) -> str:
    """Return a GET query as signed and sent: keys sorted (as pybit does), values escaped.

    A "%" stays as it is: the nextPageCursor Bybit hands back is already escaped, and goes back
    the way it came.
    """
    return "&".join(f"{k}={quote(str(v), safe='%')}" for k, v in sorted(params.items()))


class KeyInfo(BaseModel):
    """What an API key may do: read-only or not, Bybit's permission lists, bound IPs, expiry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_only: bool
    permissions: dict[str, tuple[str, ...]]
    ips: tuple[str, ...] = ()
    expires_at: AwareDatetime | None = None


class _ApiKey(BaseModel):
    """The result of GET /v5/user/query-api, Bybit's names (the key itself is not kept)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    readOnly: int
    permissions: dict[str, tuple[str, ...]]
    ips: tuple[str, ...] = ()
    expiredAt: Annotated[AwareDatetime | None, BeforeValidator(lambda v: v or None)] = None


class BybitRest:
    """A signed Bybit REST client for one API key; secrets never reach a log or an error."""

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
        self.account = account
        self.timeout = timeout
        self._credentials = credentials
        self._clock = clock

    def __repr__(self) -> str:
        return f"BybitRest(base_url={self.base_url!r}, account={self.account!r})"

    def place_order(
        self,
        market: str,
        side: str,
        order_type: str,
        size: str,
        price: str | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
    ) -> str:
        """Place an order (side buy/sell, type market/limit); return Bybit's orderId."""
        category, symbol = split_market(market)
        if side not in _SIDES or order_type not in _TYPES:
            raise ValueError(
                f"bybit: side must be buy or sell, type market or limit: {side}, {order_type}"
            )
        params: dict[str, Any] = {
            "category": category,
            "symbol": symbol,
            "side": _SIDES[side],
            "orderType": _TYPES[order_type],
            "qty": size,
        }
        if price is not None:
            params["price"] = price
        if client_order_id:
            params["orderLinkId"] = client_order_id  # <= 36 chars; Bybit refuses a duplicate
        if reduce_only:
            params["reduceOnly"] = True
        result = self._call("POST", CREATE_ORDER_PATH, params, client_order_id or "")
        return str(result.get("orderId", ""))

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an order by orderId or orderLinkId; raise OrderRejected if Bybit refuses."""
        if not order_id and not client_order_id:
            raise ValueError("cancel_order needs order_id or client_order_id")
        category, symbol = split_market(market)
        params: dict[str, Any] = {"category": category, "symbol": symbol}
        if order_id:
            params["orderId"] = order_id
        if client_order_id:
            params["orderLinkId"] = client_order_id
        self._call("POST", CANCEL_ORDER_PATH, params, client_order_id or "")

    def order(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Return an order's state by orderLinkId (open, or among the recent closed), or None."""
        category, symbol = split_market(market)
        params = {"category": category, "symbol": symbol, "orderLinkId": client_order_id}
        result = self._call("GET", OPEN_ORDERS_PATH, params, client_order_id)
        orders = self._items(result, category, OPEN_ORDERS_PATH)
        if not orders:
            return None
        try:
            return BybitOrder.model_validate(orders[0]).to_event(VENUE, self.account)
        except ValidationError:
            raise UnknownMessage(
                VENUE, f"{OPEN_ORDERS_PATH}: unreadable order", str(orders[0])
            ) from None

    def fills_since(
        self, category: str, since_ms: int, symbol: str = "", until_ms: int | None = None
    ) -> list[Fill]:
        """Return the category's fills from `since_ms` on, oldest first, each execution once."""
        until = until_ms if until_ms is not None else int(self._clock() * 1000)
        fills: dict[str, Fill] = {}
        start = since_ms
        while start <= until:
            end = min(start + WEEK_MS, until)
            params: dict[str, str | int] = {
                "category": category, "startTime": start, "endTime": end, "limit": PAGE
            }  # fmt: skip
            if symbol:
                params["symbol"] = symbol
            for item in self._pages(EXECUTIONS_PATH, params, category):
                try:
                    execution = BybitExecution.model_validate(item)
                except ValidationError:
                    raise UnknownMessage(
                        VENUE, f"{EXECUTIONS_PATH}: unreadable execution", str(item)
                    ) from None
                if execution.is_trade:
                    fills[execution.execId] = execution.to_event(VENUE, self.account)
            start = end + 1
        return sorted(fills.values(), key=lambda f: (f.at, f.trade_id))

    def key_info(self) -> KeyInfo:
        """Return what this API key may do (any key may ask)."""
        result = self._call("GET", API_KEY_PATH, {})
        try:
            key = _ApiKey.model_validate(result)
        except ValidationError:
            raise UnknownMessage(VENUE, f"{API_KEY_PATH}: unreadable key info", "") from None
        return KeyInfo(
            read_only=key.readOnly == 1,
            permissions=key.permissions,
            ips=key.ips,
            expires_at=key.expiredAt,
        )

    def _pages(self, path: str, params: dict[str, str | int], category: str) -> list[Any]:
        """Return every item of a cursor-paged list."""
        items: list[Any] = []
        cursors: set[str] = set()
        while True:
            result = self._call("GET", path, params)
            page = self._items(result, category, path)
            items += page
            cursor = str(result.get("nextPageCursor") or "")
            if not page or not cursor or cursor in cursors:
                return items
            cursors.add(cursor)
            params = {**params, "cursor": cursor}

    @staticmethod
    def _items(result: dict[str, Any], category: str, path: str) -> list[Any]:
        """Return a result's list, each item given the category the result names once."""
        items = result.get("list")
        if type(items) is not list or not all(type(i) is dict for i in items):
            raise UnknownMessage(VENUE, f"{path}: a result without a list", orjson.dumps(result))
        return [{**item, "category": result.get("category") or category} for item in items]

    def _call(
        self, method: str, path: str, params: dict[str, Any], client_order_id: str = ""
    ) -> dict[str, Any]:
        """Sign and send one request; return its `result`, or raise what the reply means."""
        if method == "GET":
            payload = query_string(params)
            url, body = self.base_url + path + (f"?{payload}" if payload else ""), None
        else:
            payload = orjson.dumps(params).decode()  # signed exactly as sent
            url, body = self.base_url + path, payload.encode()
        now_ms = int(self._clock() * 1000)
        headers = rest_headers(self._credentials, now_ms, payload)
        headers["Content-Type"] = "application/json"
        status, reply_headers, raw = send(url, method, body, headers, self.timeout, f"bybit {path}")
        if status in (403, 429) or status >= 500:  # 403: the IP's rate limit (wait 10 minutes)
            wait = retry_after(reply_headers) or (600.0 if status == 403 else None)
            raise ExchangeUnavailable(f"bybit {path}: HTTP {status}", retry_after=wait)
        try:
            reply = orjson.loads(raw)
            code, message = int(reply["retCode"]), str(reply.get("retMsg", ""))
            result = reply.get("result")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            if status >= 400:
                raise OrderRejected(VENUE, str(status), f"HTTP {status}", client_order_id) from None
            raise UnknownMessage(VENUE, f"{path}: unreadable reply", raw) from None
        if code in RETRYABLE:
            wait = _reset_after(reply_headers.get("X-Bapi-Limit-Reset-Timestamp"), now_ms)
            raise ExchangeUnavailable(f"bybit {path}: retCode {code} {message}", retry_after=wait)
        if code != 0 or status >= 400:
            log.warning("bybit %s: HTTP %s, retCode %s", path, status, code)
            raise OrderRejected(VENUE, str(code or status), message, client_order_id)
        return result if type(result) is dict else {}


def _reset_after(reset_ms: str | None, now_ms: int) -> float | None:
    """Return seconds until X-Bapi-Limit-Reset-Timestamp, or None when absent or past."""
    try:
        wait = (int(reset_ms) - now_ms) / 1000 if reset_ms else None
    except ValueError:
        return None
    return wait if wait is not None and wait > 0 else None
