"""Bybit v5 REST reads (signed GETs): open and recent orders, executions, the API key's info.

Lists come newest first, `limit` per page, and `nextPageCursor` ("" on the last page) goes back
as `cursor` for the next. Query parameters are read as Bybit documents them:
https://bybit-exchange.github.io/docs/v5/order/open-order,
https://bybit-exchange.github.io/docs/v5/order/execution,
https://bybit-exchange.github.io/docs/v5/user/apikey-info.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from aiohttp import web

from simulator.bybit import items
from simulator.bybit.names import CATEGORIES, split
from simulator.bybit.orders import Reject, param_error
from simulator.bybit.rest import refused, reply, signed_get
from simulator.config import SimConfig
from simulator.market import now_ms
from simulator.orders import Fill, OrderView
from simulator.venue import Venue

T = TypeVar("T")
WEEK_MS = 7 * 86_400_000
RECENT_CLOSED = 500  # /v5/order/realtime keeps the 500 latest closed orders


class BadQueryError(Exception):
    """A query Bybit refuses; its one arg is the Reject."""


def _category(query: Any) -> str:
    category = query.get("category", "")
    if category not in CATEGORIES:
        raise BadQueryError(param_error("category"))
    return str(category)


def _int(query: Any, name: str) -> int | None:
    text = query.get(name, "")
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        raise BadQueryError(param_error(name))
    return int(text)


def _limit(query: Any, most: int, default: int) -> int:
    limit = _int(query, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= most:
        raise BadQueryError(param_error("limit"))
    return limit


def _cursor(key: int) -> str:
    """Returns a page cursor, escaped as Bybit's are (the client sends it back as it came)."""
    return quote(f"{key}:1,{key}:1", safe="")


def _after(query: Any) -> int | None:
    """Returns the key a cursor stands for (records older than it come next)."""
    text = str(query.get("cursor", ""))
    while "%" in text:  # a client that escaped it once more
        text = unquote(text)
    if not text:
        return None
    head = text.partition(",")[0].partition(":")[0]
    if not head.isascii() or not head.isdigit():
        raise BadQueryError(param_error("cursor"))
    return int(head)


def page(newest_first: Sequence[T], key: Callable[[T], int], query: Any, limit: int) -> Any:
    """Returns (one page of records past the query's cursor, the next page's cursor)."""
    after = _after(query)
    chosen = [item for item in newest_first if after is None or key(item) < after]
    more = len(chosen) > limit
    chosen = chosen[:limit]
    return chosen, _cursor(key(chosen[-1])) if more else ""


def _in_category(market: str, category: str) -> bool:
    return split(market)[0] == category


def _picked(query: Any, order: OrderView) -> bool:
    """Tells whether an order matches orderId > orderLinkId > symbol > baseCoin > settleCoin."""
    if query.get("orderId"):
        return order.order_id == str(query["orderId"])
    if query.get("orderLinkId"):
        return order.request.client_id == str(query["orderLinkId"])
    symbol, base, settle = query.get("symbol"), query.get("baseCoin"), query.get("settleCoin")
    return (
        (not symbol or split(order.request.market)[1] == symbol)
        and (not base or order.instrument.base == base)
        and (not settle or order.instrument.quote == settle)
    )


def open_orders(request: web.Request, venue: Venue) -> web.Response:
    """GET /v5/order/realtime: open orders (openOnly 0), or the latest closed ones (openOnly 1);
    by orderId or orderLinkId, either."""
    query = request.query
    category = _category(query)
    if category == "linear" and not any(query.get(k) for k in ("symbol", "baseCoin", "settleCoin")):
        raise BadQueryError(
            Reject(10001, "Missing some parameters that must be filled in, symbol or settleCoin "
                          "or baseCoin")
        )  # fmt: skip
    open_only = query.get("openOnly", "0")
    if open_only not in ("0", "1", "2"):
        raise BadQueryError(param_error("openOnly"))
    exchange = venue.exchange
    views = [exchange.find(o.request.market, o.order_id, "") for o in exchange.orders.values()]
    chosen = [
        v for v in reversed(views) if v is not None and _in_category(v.request.market, category)
    ]
    if not query.get("orderId") and not query.get("orderLinkId"):
        pending = open_only == "0"
        chosen = [v for v in chosen if (v.state in ("live", "partially_filled")) == pending]
        if not pending:
            chosen = chosen[:RECENT_CLOSED]
    chosen = [v for v in chosen if _picked(query, v)]
    rows, cursor = page(chosen, lambda v: int(v.order_id), query, _limit(query, 50, 20))
    return reply(
        {"list": [items.rest_order(v) for v in rows], "nextPageCursor": cursor,
         "category": category}
    )  # fmt: skip


def _window(query: Any) -> tuple[int, int]:
    """Returns [start, end] ms: 7 days back from now or end, or forward from start."""
    start, end = _int(query, "startTime"), _int(query, "endTime")
    if start is None:
        end = now_ms() if end is None else end
        start = end - WEEK_MS
    elif end is None:
        end = start + WEEK_MS
    if not 0 <= end - start <= WEEK_MS:
        raise BadQueryError(
            Reject(10001, "params error: endTime - startTime must be within 0 and 7 days")
        )
    return start, end


def executions(request: web.Request, venue: Venue) -> web.Response:
    """GET /v5/execution/list: the account's executions (all of them trades), newest first."""
    query = request.query
    category = _category(query)
    start, end = _window(query)
    limit = _limit(query, 100, 50)
    exec_type = query.get("execType", "")
    rows: list[tuple[OrderView, Fill, Decimal]] = []
    filled: dict[str, Decimal] = {}
    for order, fill in venue.exchange.executions():  # oldest first
        filled[order.order_id] = filled.get(order.order_id, Decimal(0)) + fill.size
        leaves = order.request.size - filled[order.order_id]
        if order.state == "canceled" and order.last_fill is fill:
            leaves = Decimal(0)  # the rest went with the cancel
        rows.append((order, fill, leaves))
    chosen = [
        (o, f, left)
        for o, f, left in reversed(rows)
        if _in_category(o.request.market, category)
        and start <= f.time <= end
        and exec_type in ("", "Trade")
        and _picked(query, o)
    ]
    found, cursor = page(chosen, lambda row: int(row[1].seq), query, limit)
    return reply(
        {"nextPageCursor": cursor, "category": category,
         "list": [items.rest_execution(o, f, left) for o, f, left in found]}
    )  # fmt: skip


def api_key(config: SimConfig) -> dict[str, Any]:
    """Builds GET /v5/user/query-api's result: read-only unless the key may trade; the Wallet
    group lists Withdraw when it may withdraw (docs/v5/user/modify-master-apikey.mdx)."""
    trade = config.permits("trade")
    wallet = ["AccountTransfer", "SubMemberTransfer"]
    if config.permits("withdraw"):
        wallet.append("Withdraw")
    permissions = {
        "ContractTrade": ["Order", "Position"] if trade else [],
        "Spot": ["SpotTrade"] if trade else [],
        "Wallet": wallet,
        "Options": ["OptionsTrade"] if trade else [],
        "Derivatives": ["DerivativesTrade"] if trade else [],
        "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": [],
    }  # fmt: skip
    return {
        "id": "16651472", "note": "klaxon simulator", "apiKey": config.api_key,
        "readOnly": 0 if trade else 1, "secret": "", "permissions": permissions, "ips": ["*"],
        "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "2026-01-01T00:00:00Z",
        "unified": 0, "uta": 1, "userID": int(config.uid), "inviterID": 0,
        "vipLevel": "No VIP", "mktMakerLevel": "0", "affiliateID": 0,
    }  # fmt: skip


def query_api(request: web.Request, venue: Venue) -> web.Response:
    """GET /v5/user/query-api: what the API key may do (any key may ask)."""
    return reply(api_key(venue.config), msg="")


def _guarded(handler: Callable[[web.Request, Venue], web.Response]) -> Any:
    def run(request: web.Request, venue: Venue) -> web.Response:
        try:
            return handler(request, venue)
        except BadQueryError as exc:
            return refused(exc.args[0])

    return signed_get(run)


def add_routes(app: web.Application) -> None:
    """Mounts the signed reads on their Bybit paths."""
    app.router.add_get("/v5/order/realtime", _guarded(open_orders))
    app.router.add_get("/v5/execution/list", _guarded(executions))
    app.router.add_get("/v5/user/query-api", _guarded(query_api))
