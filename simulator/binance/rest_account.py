"""Binance account endpoints: the trade list (spot myTrades, USD-M userTrades), the API key's
restrictions, listen keys, and the public ping and time.

The trade list is per symbol, oldest first: from `fromId`, or within startTime..endTime (at
most 24 hours on spot, 7 days on USD-M: -1127), else the latest `limit` (USD-M: of the last 7
days). USD-M takes no fromId with a time (-1128).
"""

from __future__ import annotations

from aiohttp import web

from simulator.binance import records
from simulator.binance.calls import Call, RejectedError, Security, endpoint
from simulator.binance.product import Reject
from simulator.binance.signing import mandatory
from simulator.market import now_ms
from simulator.orders import Fill, OrderView

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
HOUR_MS = 3_600_000
_TRADES_READS = frozenset({"symbol", "orderId", "startTime", "endTime", "fromId", "limit"})
_NO_SUCH_KEY = Reject(400, -1125, "This listenKey does not exist.")


def _window(call: Call) -> tuple[int | None, int | None]:
    """Returns (start, end) ms of the list asked for, each None when not bounded by time."""
    start, end = call.number("startTime"), call.number("endTime")
    span = call.product.trades_window_h * HOUR_MS
    if start is not None and end is not None:
        if start > end:
            raise RejectedError(Reject(400, -1023, "Start time is greater than end time."))
        if end - start > span:
            hours = call.product.trades_window_h
            raise RejectedError(
                Reject(400, -1127, f"More than {hours} hours between startTime and endTime.")
            )
    elif start is not None:
        end = start + span
    elif end is not None:
        start = end - span
    return start, end


async def trades(call: Call) -> web.Response:
    """GET /api/v3/myTrades, /fapi/v1/userTrades."""
    market = call.symbol()
    order_id, from_id = call.number("orderId"), call.number("fromId")
    limit = call.number("limit") or DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise RejectedError(Reject(400, -1130, "Data sent for parameter 'limit' is not valid."))
    start, end = _window(call)
    if call.product.futures and from_id is not None and start is not None:
        raise RejectedError(Reject(400, -1128, "Combination of optional parameters invalid."))
    if call.product.futures and from_id is None and start is None:
        end = now_ms()
        start = end - call.product.trades_window_h * HOUR_MS

    def wanted(o: OrderView, f: Fill) -> bool:
        return (
            o.request.market == market
            and (order_id is None or o.order_id == str(order_id))
            and (from_id is None or int(f.trade_id) >= from_id)
            and (start is None or start <= f.time)
            and (end is None or f.time <= end)
        )

    rows = [(o, f) for o, f in call.venue.exchange.executions() if wanted(o, f)]
    chosen = rows[:limit] if from_id is not None or start is not None else rows[-limit:]
    row = records.usdm_trade if call.product.futures else records.spot_trade
    return web.json_response([row(o, f) for o, f in chosen])


async def api_restrictions(call: Call) -> web.Response:
    """GET /sapi/v1/account/apiRestrictions."""
    return web.json_response(records.api_restrictions(call.venue.config))


def _key(call: Call) -> str | None:
    """Returns the listen key a keepalive or close names (spot), None (USD-M: the account's)."""
    if not call.product.listen_key_param:
        return None
    key = call.text("listenKey")
    if not key:
        raise RejectedError(mandatory("listenKey"))
    return key


async def create_listen_key(call: Call) -> web.Response:
    """POST: the active listen key, extended, or a new one."""
    keys = call.pushes.listen_keys
    if keys is None:
        raise RejectedError(_NO_SUCH_KEY)
    return web.json_response({"listenKey": keys.create()})


async def keepalive_listen_key(call: Call) -> web.Response:
    """PUT: extends the listen key (-1125 when it expired or was closed)."""
    keys, key = call.pushes.listen_keys, _key(call)
    if keys is None or not keys.keepalive(key):
        raise RejectedError(_NO_SUCH_KEY)
    return web.json_response({"listenKey": keys.key} if call.product.futures else {})


async def close_listen_key(call: Call) -> web.Response:
    """DELETE: closes the listen key (its connections get no more user data)."""
    keys, key = call.pushes.listen_keys, _key(call)
    if keys is None or not keys.close(key):
        raise RejectedError(_NO_SUCH_KEY)
    return web.json_response({})


async def ping(call: Call) -> web.Response:
    """GET .../ping: {}."""
    return web.json_response({})


async def server_time(call: Call) -> web.Response:
    """GET .../time: the server's clock in ms."""
    return web.json_response({"serverTime": now_ms()})


def add_routes(app: web.Application, trades_path: str, listen_key_path: str, api: str) -> None:
    """Mounts the account endpoints; `api` is the product's REST root (/api/v3, /fapi/v1)."""
    app.router.add_get(trades_path, endpoint(Security.USER_DATA, _TRADES_READS, trades))
    app.router.add_get(
        "/sapi/v1/account/apiRestrictions",
        endpoint(Security.USER_DATA, frozenset(), api_restrictions),
    )
    key_reads = frozenset({"listenKey"})
    app.router.add_post(
        listen_key_path, endpoint(Security.USER_STREAM, frozenset(), create_listen_key)
    )
    app.router.add_put(
        listen_key_path, endpoint(Security.USER_STREAM, key_reads, keepalive_listen_key)
    )
    app.router.add_delete(
        listen_key_path, endpoint(Security.USER_STREAM, key_reads, close_listen_key)
    )
    app.router.add_get(f"{api}/ping", endpoint(Security.NONE, frozenset(), ping))
    app.router.add_get(f"{api}/time", endpoint(Security.NONE, frozenset(), server_time))
