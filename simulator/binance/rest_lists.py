"""Binance account lists that name no symbol: open orders (spot and USD-M) and USD-M's income
history, each row naming its symbol.

GET /api/v3/openOrders, /fapi/v1/openOrders: every pending order, of one symbol or all.
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints
GET /fapi/v1/income: the account's money flows, oldest first, within startTime..endTime (the
last 7 days when neither is sent), at most `limit` (default 100, max 1000) from startTime. Each
fill makes a COMMISSION row, and a REALIZED_PNL row when it realized any.
https://developers.binance.com/docs/derivatives/usds-margined-futures/account/rest-api/Get-Income-History
"""

from __future__ import annotations

from aiohttp import web

from simulator.binance import records
from simulator.binance.calls import Call, RejectedError, Security, endpoint
from simulator.binance.product import Reject
from simulator.market import now_ms

INCOME_DEFAULT_LIMIT = 100
INCOME_MAX_LIMIT = 1000
_WEEK_MS = 7 * 24 * 3_600_000
_INCOME_READS = frozenset({"symbol", "incomeType", "startTime", "endTime", "page", "limit"})


async def open_orders(call: Call) -> web.Response:
    """GET /api/v3/openOrders, /fapi/v1/openOrders: the pending orders, oldest first."""
    market = call.symbol() if call.text("symbol") is not None else None
    pending = call.venue.exchange.pending(market)
    if call.product.futures:
        return web.json_response([records.usdm_order(o, query=True) for o in pending])
    return web.json_response([records.spot_order(o) for o in pending])


async def income(call: Call) -> web.Response:
    """GET /fapi/v1/income."""
    market = call.symbol() if call.text("symbol") is not None else None
    kind = call.text("incomeType")
    limit = call.number("limit") or INCOME_DEFAULT_LIMIT
    if limit > INCOME_MAX_LIMIT:
        raise RejectedError(Reject(400, -1130, "Data sent for parameter 'limit' is not valid."))
    page = call.number("page") or 1
    start, end = call.number("startTime"), call.number("endTime")
    if start is None and end is None:
        end = now_ms()
        start = end - _WEEK_MS
    if start is not None and end is not None and start > end:
        raise RejectedError(Reject(400, -1023, "Start time is greater than end time."))
    rows = [
        row
        for o, f in call.venue.exchange.executions()
        for row in records.usdm_income(o, f)
        if (market is None or o.request.market == market)
        and (kind is None or row["incomeType"] == kind)
        and (start is None or start <= f.time)
        and (end is None or f.time <= end)
    ]
    return web.json_response(rows[(page - 1) * limit : page * limit])


def add_routes(app: web.Application, api: str, futures: bool) -> None:
    """Mounts the lists on the product's REST root (/api/v3, /fapi/v1)."""
    symbol = frozenset({"symbol"})
    app.router.add_get(f"{api}/openOrders", endpoint(Security.USER_DATA, symbol, open_orders))
    if futures:
        app.router.add_get(f"{api}/income", endpoint(Security.USER_DATA, _INCOME_READS, income))
