"""Binance REST for spot and USD-M: orders, order lookup, fills, key permissions, listen keys.

Signed calls carry every parameter in the query string (as binance-connector sends them), the
signature last; USER_STREAM calls (listen keys) carry the API key header only.
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from pydantic import ValidationError

from watcher.errors import (
    ConfigError,
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
    UnknownMessage,
)
from watcher.events import Fill, OrderUpdate
from watcher.venues import Permission
from watcher.venues.binance.auth import (
    DEFAULT_RECV_WINDOW,
    MAX_RECV_WINDOW,
    BinanceCredentials,
    Signer,
    query_string,
)
from watcher.venues.binance.wire_rest import (
    SYMBOL_ROWS,
    TRADES,
    ApiRestrictions,
    ListenKey,
    RestOrder,
    SymbolRow,
)
from watcher.venues.http import check_base_url, retry_after, send

log = logging.getLogger(__name__)

ORDER_NOT_FOUND = "-2013"  # "Order does not exist."
INVALID_SYMBOL = "-1121"  # "Invalid symbol."
LISTEN_KEY_NOT_FOUND = "-1125"  # "This listenKey does not exist."
# Not carried out, slow down: too many requests, throttled, too many orders.
_BUSY = frozenset({"-1003", "-1008", "-1015"})
# "Timeout waiting for response from backend server. Send status unknown; execution status
# unknown." https://developers.binance.com/docs/binance-spot-api-docs/errors
_UNKNOWN_OUTCOME = frozenset({"-1007"})
# Order types that rest on the book and so need a time in force.
_RESTING = frozenset({"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT", "STOP", "TAKE_PROFIT"})
MAX_TRADES = 1_000  # the most myTrades / userTrades returns at once
MAX_INCOME = 1_000  # the most income entries USD-M returns at once
_MAX_PAGES = 100  # of one time window: 100,000 fills


class Endpoints(NamedTuple):
    """Where one Binance product's REST calls go, and how it differs."""

    order: str
    trades: str
    listen_key: str
    listen_key_param: bool  # spot's keepalive and close name the key; USD-M's do not
    trade_flag: str  # the apiRestrictions flag that allows trading this product
    futures: bool
    trades_window: int  # ms: the longest startTime..endTime the trade list takes
    open_orders: str
    # USD-M's income history names the symbol of every commission since a time; spot has none.
    income: str | None = None
    permissions: str = "/sapi/v1/account/apiRestrictions"


SPOT: Endpoints = Endpoints(
    order="/api/v3/order",
    trades="/api/v3/myTrades",
    listen_key="/api/v3/userDataStream",
    listen_key_param=True,
    trade_flag="enableSpotAndMarginTrading",
    futures=False,
    trades_window=24 * 3600 * 1000,
    open_orders="/api/v3/openOrders",
)
USDM: Endpoints = Endpoints(
    order="/fapi/v1/order",
    trades="/fapi/v1/userTrades",
    listen_key="/fapi/v1/listenKey",
    listen_key_param=False,
    trade_flag="enableFutures",
    futures=True,
    trades_window=7 * 24 * 3600 * 1000,
    open_orders="/fapi/v1/openOrders",
    income="/fapi/v1/income",
)


def _text(value: str | Decimal) -> str:
    return format(value, "f") if isinstance(value, Decimal) else value


def _ms(fill: Fill) -> int:
    return round(fill.at.timestamp() * 1000)


def error_of(data: Any) -> tuple[str, str]:
    """Return (code, msg) of a Binance error reply, ("", "") when it is none."""
    if isinstance(data, dict) and "code" in data:
        return str(data["code"]), str(data.get("msg", ""))
    return "", ""


class BinanceRest:
    """A signed REST client for one Binance API key on one product (spot or USD-M)."""

    def __init__(
        self,
        credentials: BinanceCredentials,
        base_url: str,
        endpoints: Endpoints = SPOT,
        *,
        venue: str = "binance",
        account: str = "",
        permissions_url: str | None = None,
        recv_window: int = DEFAULT_RECV_WINDOW,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0 < recv_window <= MAX_RECV_WINDOW:
            raise ConfigError(f"{venue}: recvWindow must be 1..{MAX_RECV_WINDOW} ms")
        self.venue = venue
        self.account = account
        self.base_url = check_base_url(venue, base_url)
        # apiRestrictions lives on the spot host, also for a USD-M key.
        self.permissions_url = check_base_url(venue, permissions_url or base_url)
        self.endpoints = endpoints
        self.recv_window = recv_window
        self.timeout = timeout
        self._signer = Signer(credentials)
        self._clock = clock

    def __repr__(self) -> str:
        return f"BinanceRest(venue={self.venue!r}, base_url={self.base_url!r})"

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str | Decimal,
        price: str | Decimal | None = None,
        client_order_id: str | None = None,
        *,
        time_in_force: str | None = None,
        reduce_only: bool = False,
    ) -> str:
        """Place an order (ord_type market, limit, or a Binance type); return its orderId.

        Raises OrderRejected (Binance said no), ExchangeUnavailable (not placed: retry) or
        OutcomeUnknown (a timeout or 5xx after it was sent: look it up by client id first).
        """
        kind = ord_type.upper()
        params = {"symbol": market, "side": side.upper(), "type": kind, "quantity": _text(size)}
        if price is not None:
            params["price"] = _text(price)
        if time_in_force or kind in _RESTING:
            params["timeInForce"] = time_in_force or "GTC"
        if reduce_only:
            if not self.endpoints.futures:
                raise ValueError(f"{self.venue}: spot orders have no reduce-only")
            params["reduceOnly"] = "true"
        if client_order_id:
            params["newClientOrderId"] = client_order_id
        data = self._order_call("POST", params, client_order_id or "")
        if not isinstance(data, dict) or "orderId" not in data:
            raise UnknownMessage(self.venue, "order reply without orderId", orjson.dumps(data))
        return str(data["orderId"])

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an order by orderId or client order id; raise OrderRejected if Binance refuses."""
        params = self._order_ref(market, order_id, client_order_id)
        self._order_call("DELETE", params, client_order_id or "")

    def order_by_client_id(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Return the order placed with `client_order_id`, or None if Binance has none."""
        params = self._order_ref(market, None, client_order_id)
        try:
            data = self._order_call("GET", params, client_order_id)
        except OrderRejected as exc:
            if exc.code == ORDER_NOT_FOUND:
                return None
            raise
        try:
            return RestOrder.model_validate(data).to_event(self.venue, self.account)
        except ValidationError:
            raise UnknownMessage(self.venue, "unreadable order", orjson.dumps(data)) from None

    def fills_since(self, since: datetime, market: str | None = None) -> list[Fill]:
        """Return the account's fills at or after `since` (in `market`, else in every market
        Binance names as traded: see fills_in), oldest first."""
        if market is None:
            return self.fills_in(since, ())
        return self._fills_of(market, since)

    def fills_in(self, since: datetime, markets: Iterable[str]) -> list[Fill]:
        """Return the account's fills at or after `since` in `markets` and in every market
        Binance names as traded since then, oldest first.

        Binance lists trades per symbol only. USD-M's income history names the symbol of each
        commission (one a fill) since a time; spot has no such list, only its open orders (a
        partly filled one among them): the caller names the markets it knows besides. A known
        market Binance does not list (-1121) is logged and skipped.
        """
        fills: list[Fill] = []
        for market in sorted(set(markets) | self.traded_markets(since)):
            try:
                fills += self._fills_of(market, since)
            except RequestRejected as exc:
                if exc.code != INVALID_SYMBOL:
                    raise
                log.warning("%s: no fills listed for %s: not a symbol here", self.venue, market)
        return sorted(fills, key=lambda f: (f.at, f.market, f.trade_id))

    def traded_markets(self, since: datetime) -> set[str]:
        """Return the symbols Binance names as traded at or after `since` (USD-M: the income
        history's) or with an order open (spot)."""
        income = self.endpoints.income
        if income is None:
            return {r.symbol for r in self._symbol_rows(self.endpoints.open_orders, {}) if r.symbol}
        start, now = int(since.timestamp() * 1000), int(self._clock() * 1000)
        found: set[str] = set()
        for _ in range(_MAX_PAGES if start <= now else 0):
            window = {"startTime": str(start), "endTime": str(now), "limit": str(MAX_INCOME)}
            rows = self._symbol_rows(income, window)
            found.update(r.symbol for r in rows if r.symbol)
            if len(rows) < MAX_INCOME:
                break
            start = max(rows[-1].time, start + 1)  # from the last row's time: repeats are harmless
        return found

    def _symbol_rows(self, path: str, params: dict[str, str]) -> list[SymbolRow]:
        data = self._signed_call("GET", path, params)
        try:
            return SYMBOL_ROWS.validate_python(data)
        except ValidationError:
            raise UnknownMessage(self.venue, f"unreadable {path}", orjson.dumps(data)) from None

    def _fills_of(self, market: str, since: datetime) -> list[Fill]:
        """Return the fills in `market` at or after `since`, oldest first.

        Binance lists trades over a bounded time window (spot 24 h, USD-M 7 days) and at most
        1000 at a time: the windows are walked up to now, a full page continued by trade id.
        """
        start, now = int(since.timestamp() * 1000), int(self._clock() * 1000)
        fills: dict[int, Fill] = {}
        while start <= now:
            end = min(start + self.endpoints.trades_window - 1, now)
            page = self._trades(market, {"startTime": str(start), "endTime": str(end)})
            for _ in range(_MAX_PAGES):
                fills.update((int(f.trade_id), f) for f in page if _ms(f) <= end)
                if len(page) < MAX_TRADES or _ms(page[-1]) > end:
                    break
                page = self._trades(market, {"fromId": str(int(page[-1].trade_id) + 1)})
            start = end + 1
        return [fills[t] for t in sorted(fills)]

    def _trades(self, market: str, params: dict[str, str]) -> list[Fill]:
        query = {"symbol": market, **params, "limit": str(MAX_TRADES)}
        data = self._signed_call("GET", self.endpoints.trades, query)
        try:
            return [t.to_event(self.venue, self.account) for t in TRADES.validate_python(data)]
        except ValidationError:
            raise UnknownMessage(self.venue, "unreadable trades", orjson.dumps(data)) from None

    def key_permissions(self) -> frozenset[Permission]:
        """Return what the API key may do here: "read", "trade" (this product), "withdraw"."""
        data = self._signed_call("GET", self.endpoints.permissions, {}, self.permissions_url)
        try:
            restrictions = ApiRestrictions.model_validate(data)
        except ValidationError:
            raise UnknownMessage(
                self.venue, "unreadable key permissions", orjson.dumps(data)
            ) from None
        return restrictions.permissions(self.endpoints.trade_flag)

    def create_listen_key(self) -> str:
        """Return the account's listen key (Binance extends an active one by 60 minutes)."""
        data = self._keyed_call("POST", {})
        try:
            return ListenKey.model_validate(data).listenKey
        except ValidationError:
            raise UnknownMessage(self.venue, "listen key reply without listenKey", b"") from None

    def keepalive_listen_key(self, key: str) -> bool:
        """Extend the listen key by 60 minutes; False when Binance no longer knows it."""
        try:
            self._keyed_call("PUT", self._listen_key_params(key))
        except RequestRejected as exc:
            if exc.code == LISTEN_KEY_NOT_FOUND:
                return False
            raise
        return True

    def close_listen_key(self, key: str) -> None:
        """Close the user data stream of this listen key."""
        self._keyed_call("DELETE", self._listen_key_params(key))

    def _listen_key_params(self, key: str) -> dict[str, str]:
        return {"listenKey": key} if self.endpoints.listen_key_param else {}

    @staticmethod
    def _order_ref(
        market: str, order_id: str | None, client_order_id: str | None
    ) -> dict[str, str]:
        if not order_id and not client_order_id:
            raise ValueError("give order_id or client_order_id")
        params = {"symbol": market}
        if order_id:
            params["orderId"] = order_id
        if client_order_id:
            params["origClientOrderId"] = client_order_id
        return params

    def _order_call(self, method: str, params: dict[str, str], client_order_id: str) -> Any:
        try:
            return self._signed_call(method, self.endpoints.order, params)
        except RequestRejected as exc:
            raise OrderRejected(self.venue, exc.code, exc.message, client_order_id) from None

    def _signed_call(
        self, method: str, path: str, params: dict[str, str], base: str | None = None
    ) -> Any:
        now_ms = int(self._clock() * 1000)
        query = self._signer.signed_query(params, now_ms, self.recv_window)
        return self._call(method, path, query, base or self.base_url)

    def _keyed_call(self, method: str, params: dict[str, str]) -> Any:
        return self._call(method, self.endpoints.listen_key, query_string(params), self.base_url)

    def _call(self, method: str, path: str, query: str, base: str) -> Any:
        # Errors name the call, never its query: it holds the signature (and a listen key).
        what = f"{self.venue} {method} {path}"
        headers = {"X-MBX-APIKEY": self._signer.api_key}
        body = b"" if method in ("POST", "PUT") else None
        url = f"{base}{path}?{query}" if query else base + path
        reads = method == "GET"
        try:
            reply = send(url, method, body, headers, self.timeout, what)
        except OutcomeUnknown as exc:
            if reads:  # a read has no effect: nothing is unknown about it
                raise ExchangeUnavailable(str(exc)) from None
            raise
        wait = retry_after(reply.headers)
        if reply.status in (418, 429):  # rate limits, and the IP ban that follows ignoring them
            raise ExchangeUnavailable(f"{what}: HTTP {reply.status}", wait)
        if reply.status >= 500:
            # Binance: "the execution status is UNKNOWN and could have been a success".
            kind = ExchangeUnavailable if reads else OutcomeUnknown
            raise kind(f"{what}: HTTP {reply.status}", wait)
        try:
            data = orjson.loads(reply.body) if reply.body else {}
        except orjson.JSONDecodeError:
            reason = f"{what}: HTTP {reply.status}, not JSON"
            raise UnknownMessage(self.venue, reason, reply.body) from None
        if reply.status < 400:
            return data
        code, message = error_of(data)
        log.warning("%s: HTTP %s %s", what, reply.status, code)
        if code in _BUSY:
            raise ExchangeUnavailable(f"{what}: {code} {message}", wait)
        if code in _UNKNOWN_OUTCOME:
            kind = ExchangeUnavailable if reads else OutcomeUnknown
            raise kind(f"{what}: {code} {message}", wait)
        raise RequestRejected(
            self.venue, code or str(reply.status), message or f"HTTP {reply.status}"
        )
