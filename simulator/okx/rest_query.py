"""OKX REST reads (signed GETs): order details, pending orders, fills, positions, account
configuration.

Paging follows OKX: records come newest first; `after` asks for records older than a cursor
(ordId, or billId for fills), `before` for newer ones, `begin`/`end` bound the fill's `ts` (ms,
both inclusive here), `limit` is 1..100 (default 100). With `before` alone the simulator answers
the `limit` records just newer than the cursor, so paging forward from a cursor skips nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from simulator.engine import Exchange
from simulator.okx import frames, records
from simulator.okx.orders import inst_type, position_inst_type
from simulator.okx.rest import error, unsigned
from simulator.orders import Fill, OrderView
from simulator.venue import VENUE_KEY

T = TypeVar("T")
INST_TYPES = frozenset({"SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS"})
MAX_LIMIT = 100


class BadQueryError(Exception):
    """A query parameter OKX would refuse; args are the HTTP status, code and message."""


def _ok(data: list[Any]) -> web.Response:
    return web.json_response({"code": "0", "msg": "", "data": data})


def _number(query: Any, name: str) -> int | None:
    value = query.get(name, "")
    if not value:
        return None
    if not value.isdigit() or not value.isascii():
        raise BadQueryError(200, "51000", f"Parameter {name} error")
    return int(value)


def _limit(query: Any) -> int:
    limit = _number(query, "limit")
    if limit is None:
        return MAX_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise BadQueryError(200, "51000", "Parameter limit error")
    return limit


def _inst_type(query: Any, required: bool = False) -> str:
    kind = str(query.get("instType", ""))
    if required and not kind:
        raise BadQueryError(400, "50014", "Parameter instType can not be empty.")
    if kind and kind not in INST_TYPES:
        raise BadQueryError(200, "51000", "Parameter instType error")
    return kind


def _inst_id(query: Any, exchange: Exchange, required: bool = False) -> str:
    inst_id = str(query.get("instId", ""))
    if required and not inst_id:
        raise BadQueryError(400, "50014", "Parameter instId can not be empty.")
    if inst_id and inst_id not in exchange.markets:
        raise BadQueryError(
            200, "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."
        )
    return inst_id


def page(newest_first: Sequence[T], cursor: Callable[[T], int], query: Any, limit: int) -> list[T]:
    """Returns one page of records by OKX's after/before cursors (see the module docstring)."""
    after, before = _number(query, "after"), _number(query, "before")
    chosen = [
        item
        for item in newest_first
        if (after is None or cursor(item) < after) and (before is None or cursor(item) > before)
    ]
    if before is not None and after is None:
        return chosen[-limit:]
    return chosen[:limit]


def _matches(o: OrderView, kind: str, inst_id: str) -> bool:
    if kind and inst_type(o.instrument, o.request.margin_mode) != kind:
        return False
    return not inst_id or o.request.market == inst_id


def get_order(query: Any, exchange: Exchange) -> web.Response:
    """GET /api/v5/trade/order: by ordId, else the latest order holding the clOrdId."""
    inst_id = _inst_id(query, exchange, required=True)
    ord_id, cl_ord_id = str(query.get("ordId", "")), str(query.get("clOrdId", ""))
    if not ord_id and not cl_ord_id:
        raise BadQueryError(200, "51003", "Either client order ID or order ID is required.")
    order = exchange.find(inst_id, ord_id, cl_ord_id)
    if order is None:
        raise BadQueryError(200, "51603", "Order does not exist.")
    return _ok([records.order_details(order)])


def orders_pending(query: Any, exchange: Exchange) -> web.Response:
    """GET /api/v5/trade/orders-pending: live and partially filled orders, newest first."""
    kind, inst_id = _inst_type(query), _inst_id(query, exchange)
    ord_type, state = str(query.get("ordType", "")), str(query.get("state", ""))
    pending = [
        o
        for o in reversed(exchange.pending())
        if _matches(o, kind, inst_id)
        and (not ord_type or o.request.ord_type in ord_type.split(","))
        and (not state or o.state == state)
    ]
    chosen = page(pending, lambda o: int(o.order_id), query, _limit(query))
    return _ok([records.order_details(o) for o in chosen])


def _fills(query: Any, exchange: Exchange, history: bool) -> web.Response:
    kind, inst_id = _inst_type(query, required=history), _inst_id(query, exchange)
    ord_id = str(query.get("ordId", ""))
    begin, end = _number(query, "begin"), _number(query, "end")
    rows: list[tuple[OrderView, Fill]] = [
        (o, f)
        for o, f in reversed(exchange.executions())
        if _matches(o, kind, inst_id)
        and (not ord_id or o.order_id == ord_id)
        and (begin is None or f.time >= begin)
        and (end is None or f.time <= end)
    ]
    chosen = page(rows, lambda row: int(row[1].seq), query, _limit(query))
    return _ok([records.fill_row(o, f) for o, f in chosen])


def fills(query: Any, exchange: Exchange) -> web.Response:
    """GET /api/v5/trade/fills (OKX keeps 3 days; the simulator keeps all)."""
    return _fills(query, exchange, history=False)


def fills_history(query: Any, exchange: Exchange) -> web.Response:
    """GET /api/v5/trade/fills-history: the same rows; instType is required."""
    return _fills(query, exchange, history=True)


def positions(query: Any, exchange: Exchange) -> web.Response:
    """GET /api/v5/account/positions: the open net positions (instId: up to 10, comma
    separated), newest first by creation time, as the positions channel items."""
    kind = _inst_type(query)
    wanted = [name for name in str(query.get("instId", "")).split(",") if name]
    if len(wanted) > 10:
        raise BadQueryError(200, "51000", "Parameter instId error")
    for name in wanted:
        if name not in exchange.markets:
            raise BadQueryError(
                200, "51001", "Instrument ID, Instrument ID code or Spread ID doesn't exist."
            )
    chosen = [
        p
        for p in sorted(exchange.positions(), key=lambda p: p.c_time, reverse=True)
        if (not wanted or p.market in wanted)
        and (not kind or position_inst_type(p.instrument) == kind)
    ]
    return _ok([frames.position(p) for p in chosen])


def _signed_get(
    handler: Callable[[Any, Exchange], web.Response],
) -> Callable[[web.Request], Any]:
    async def run(request: web.Request) -> web.Response:
        _, refused = await unsigned(request)
        if refused is not None:
            return refused
        try:
            return handler(request.query, request.app[VENUE_KEY].exchange)
        except BadQueryError as exc:
            status, code, msg = exc.args
            return error(status, code, msg)

    return run


async def account_config(request: web.Request) -> web.Response:
    """GET /api/v5/account/config: the account and the API key's permissions (`perm`)."""
    _, refused = await unsigned(request)
    if refused is not None:
        return refused
    return _ok([records.account_config(request.app[VENUE_KEY].config)])


def add_routes(app: web.Application) -> None:
    """Mounts the signed GET endpoints on their OKX paths."""
    app.router.add_get("/api/v5/trade/order", _signed_get(get_order))
    app.router.add_get("/api/v5/trade/orders-pending", _signed_get(orders_pending))
    app.router.add_get("/api/v5/trade/fills", _signed_get(fills))
    app.router.add_get("/api/v5/trade/fills-history", _signed_get(fills_history))
    app.router.add_get("/api/v5/account/positions", _signed_get(positions))
    app.router.add_get("/api/v5/account/config", account_config)
