"""Bybit v5 REST: server time (public), place and cancel order (signed), and the shared checks.

Every reply is Bybit's envelope {"retCode", "retMsg", "result", "retExtInfo", "time"} with HTTP
200, a refusal included (https://bybit-exchange.github.io/docs/v5/error). An order's ack says only
its ids; the order itself goes out on the private stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from simulator.admission import Refusal
from simulator.bybit.orders import PERMISSION, Reject, market_of, param_error, parse_order, reject
from simulator.bybit.signing import check_rest
from simulator.market import now_ms
from simulator.venue import VENUE_KEY, Venue

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def reply(result: dict[str, Any], code: int = 0, msg: str = "OK") -> web.Response:
    """Builds Bybit's envelope."""
    return web.json_response(
        {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {}, "time": now_ms()}
    )


def refused(why: Reject) -> web.Response:
    """Builds the envelope of a refusal (an empty result)."""
    return reply({}, why.code, why.msg)


def fault(status: int) -> dict[str, Any]:
    """Returns the body of an injected 5xx: Bybit's "Server error." (10016)."""
    return {"retCode": 10016, "retMsg": "Server error.", "result": {}, "retExtInfo": {},
            "time": now_ms()}  # fmt: skip


async def server_time(request: web.Request) -> web.Response:
    """GET /v5/market/time."""
    ns = time.time_ns()
    return reply({"timeSecond": str(ns // 10**9), "timeNano": str(ns)})


async def authentic(request: web.Request) -> tuple[str, web.Response | None]:
    """Returns the signed payload (a GET's raw query, a POST's raw body) and, when the request
    is not authentic, the response refusing it."""
    if request.method == "GET":
        payload = request.raw_path.partition("?")[2]
    else:
        payload = (await request.read()).decode("utf-8", errors="replace")
    config = request.app[VENUE_KEY].config
    why = check_rest(config, request.headers, payload, now_ms())
    return payload, None if why is None else reply({}, why.code, why.msg)


def signed_get(handler: Callable[[web.Request, Venue], web.Response]) -> Handler:
    """Wraps a read: it runs only for an authentic request."""

    async def run(request: web.Request) -> web.StreamResponse:
        _, refusal = await authentic(request)
        if refusal is not None:
            return refusal
        return handler(request, request.app[VENUE_KEY])

    return run


def signed_post(handler: Callable[[dict[str, Any], Venue], Awaitable[web.Response]]) -> Handler:
    """Wraps a trading request: it runs with the JSON body of an authentic request by a key
    that may trade."""

    async def run(request: web.Request) -> web.StreamResponse:
        raw, refusal = await authentic(request)
        if refusal is not None:
            return refusal
        venue = request.app[VENUE_KEY]
        if not venue.config.permits("trade"):
            return refused(PERMISSION)
        try:
            body = json.loads(raw)
        except ValueError:
            return refused(Reject(10001, "params error: the body is not JSON"))
        if not isinstance(body, dict):
            return refused(Reject(10001, "params error: the body is not a JSON object"))
        return await handler(body, venue)

    return run


def _used(venue: Venue, link_id: str) -> bool:
    """Tells whether an orderLinkId was ever used (Bybit: always unique)."""
    return bool(link_id) and any(
        o.request.client_id == link_id for o in venue.exchange.orders.values()
    )


async def create_order(body: dict[str, Any], venue: Venue) -> web.Response:
    """POST /v5/order/create."""
    parsed = parse_order(body, venue.exchange.markets)
    if isinstance(parsed, Reject):
        return refused(parsed)
    category = parsed.market.partition(":")[0]
    if _used(venue, parsed.client_id):
        return refused(reject(Refusal.DUPLICATE_CLIENT_ID, category))
    outcome, events = venue.exchange.place(parsed)
    if outcome.refused is not None or outcome.order is None:
        return refused(reject(outcome.refused or Refusal.UNKNOWN_ORDER, category))
    response = reply({"orderId": outcome.order.order_id, "orderLinkId": parsed.client_id})
    venue.publish_soon(events)
    return response


async def cancel_order(body: dict[str, Any], venue: Venue) -> web.Response:
    """POST /v5/order/cancel: by orderId, else by orderLinkId (orderId first when both)."""
    market = market_of(body, venue.exchange.markets)
    if isinstance(market, Reject):
        return refused(market)
    order_id, link_id = body.get("orderId") or "", body.get("orderLinkId") or ""
    if not isinstance(order_id, str) or not isinstance(link_id, str):
        return refused(param_error("orderId"))
    if not order_id and not link_id:
        return refused(Reject(10001, "params error: orderId or orderLinkId is required"))
    outcome, events = venue.exchange.cancel(market, order_id, link_id)
    venue.publish_soon(events)
    order = outcome.order
    if outcome.refused is not None or order is None:
        filled = order is not None and order.state == "filled"
        category = market.partition(":")[0]
        return refused(reject(outcome.refused or Refusal.UNKNOWN_ORDER, category, filled))
    return reply({"orderId": order.order_id, "orderLinkId": order.request.client_id})


def add_routes(app: web.Application) -> None:
    """Mounts the time and order-entry endpoints on their Bybit paths."""
    app.router.add_get("/v5/market/time", server_time)
    app.router.add_post("/v5/order/create", signed_post(create_order))
    app.router.add_post("/v5/order/cancel", signed_post(cancel_order))
