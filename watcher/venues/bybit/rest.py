"""Bybit v5 REST, the Bybit venue's `Trading` (watcher/venues/__init__.py): orders with an
orderLinkId, an order looked up by it, fills since a time, the key's permissions.

https://bybit-exchange.github.io/docs/v5/order/create-order
https://bybit-exchange.github.io/docs/v5/order/execution
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from watcher.events import Fill, OrderUpdate
from watcher.venues import Permission
from watcher.venues.bybit.rest_http import VENUE, BybitHttp, listed
from watcher.venues.bybit.wire import CATEGORIES, BybitExecution, BybitOrder, split_market
from watcher.venues.http import record

CREATE_ORDER_PATH = "/v5/order/create"
CANCEL_ORDER_PATH = "/v5/order/cancel"
OPEN_ORDERS_PATH = "/v5/order/realtime"  # open orders, and the 500 latest closed ones
EXECUTIONS_PATH = "/v5/execution/list"
API_KEY_PATH = "/v5/user/query-api"
WEEK_MS = 7 * 86_400_000  # /v5/execution/list answers at most 7 days per query
PAGE = 100  # the most /v5/execution/list returns per page
_SIDES = {"buy": "Buy", "sell": "Sell"}
_TYPES = {"market": "Market", "limit": "Limit"}
# Permission lists that let a key trade (docs/v5/user/modify-master-apikey.mdx).
_TRADE = {
    "ContractTrade": "Order",
    "Spot": "SpotTrade",
    "Options": "OptionsTrade",
    "Derivatives": "DerivativesTrade",
}


class BybitApiKey(BaseModel):
    """The result of GET /v5/user/query-api, Bybit's names (the key itself is not kept)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    readOnly: int
    permissions: dict[str, tuple[str, ...]]

    def to_permissions(self) -> frozenset[Permission]:
        """Return read, plus trade (a read-write key with a trading permission) and withdraw."""
        granted: set[Permission] = {"read"}
        perms = self.permissions
        if self.readOnly == 0 and any(p in perms.get(group, ()) for group, p in _TRADE.items()):
            granted.add("trade")
        if "Withdraw" in perms.get("Wallet", ()):
            granted.add("withdraw")
        return frozenset(granted)


class BybitRest(BybitHttp):
    """Bybit REST for one API key and account: the Bybit venue's Trading."""

    def __repr__(self) -> str:
        return f"BybitRest(base_url={self.base_url!r}, account={self.account!r})"

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str,
        price: str | None = None,
        client_order_id: str | None = None,
        reduce_only: bool = False,
    ) -> str:
        """Place an order (side buy/sell, type market/limit); return Bybit's orderId."""
        category, symbol = split_market(market)
        if side not in _SIDES or ord_type not in _TYPES:
            raise ValueError(f"bybit: side buy or sell, type market or limit: {side}, {ord_type}")
        params: dict[str, Any] = {
            "category": category,
            "symbol": symbol,
            "side": _SIDES[side],
            "orderType": _TYPES[ord_type],
            "qty": size,
        }
        if price is not None:
            params["price"] = price
        if category == "spot" and ord_type == "market":
            # A spot market buy is sized in the quote coin unless marketUnit says otherwise;
            # `size` is in the base coin, as on every venue.
            params["marketUnit"] = "baseCoin"
        if client_order_id:
            params["orderLinkId"] = client_order_id  # <= 36 chars; Bybit refuses a duplicate
        if reduce_only:
            params["reduceOnly"] = True
        result = self.post(CREATE_ORDER_PATH, params, client_order_id or "")
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
        self.post(CANCEL_ORDER_PATH, params, client_order_id or "")

    def order_by_client_id(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Return the order placed with orderLinkId `client_order_id` (open, or among the 500
        latest closed), or None when Bybit lists none."""
        category, symbol = split_market(market)
        params = {"category": category, "symbol": symbol, "orderLinkId": client_order_id}
        result = self.get(OPEN_ORDERS_PATH, params)
        orders = listed(result, category, OPEN_ORDERS_PATH)
        if not orders:
            return None
        return record(VENUE, BybitOrder, orders[0]).to_event(VENUE, self.account)

    def fills_since(self, since: datetime, market: str | None = None) -> list[Fill]:
        """Return the fills executed at or after `since` (of one market, or of every category),
        oldest first, each once; funding payments are not fills."""
        if since.tzinfo is None:
            raise ValueError("fills_since needs an aware datetime (UTC)")
        since_ms, until = int(since.timestamp() * 1000), int(self._clock() * 1000)
        scopes = [split_market(market)] if market else [(c, "") for c in CATEGORIES]
        fills: dict[str, Fill] = {}
        for category, symbol in scopes:
            start = since_ms
            while start <= until:  # 7-day windows, each paged by cursor
                end = min(start + WEEK_MS, until)
                params: dict[str, str | int] = {
                    "category": category, "startTime": start, "endTime": end, "limit": PAGE
                }  # fmt: skip
                if symbol:
                    params["symbol"] = symbol
                for item in self.pages(EXECUTIONS_PATH, params, category):
                    execution = record(VENUE, BybitExecution, item)
                    if execution.is_trade and execution.execTime >= since_ms:
                        fills[execution.execId] = execution.to_event(VENUE, self.account)
                start = end + 1
        return sorted(fills.values(), key=lambda f: (f.at, f.trade_id))

    def key_permissions(self) -> frozenset[Permission]:
        """Return what the API key may do (any key may ask)."""
        result = self.get(API_KEY_PATH, {})
        result.pop("apiKey", None)  # the reply names the key: keep it out of any error text
        return record(VENUE, BybitApiKey, result).to_permissions()
