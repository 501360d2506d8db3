"""OKX REST: server time (public), place/cancel order (signed), and the shared request checks."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from simulator.admission import Refusal
from simulator.engine import Outcome
from simulator.market import now_ms
from simulator.okx.orders import Reject, parse_order, reject
from simulator.okx.signing import check_rest
from simulator.venue import VENUE_KEY, Venue


def _now_us() -> str:
    return str(time.time_ns() // 1000)


def error(status: int, code: str, msg: str) -> web.Response:
    """Builds OKX's error envelope: a top-level code and msg, no data."""
    return web.json_response({"code": code, "msg": msg, "data": []}, status=status)


async def server_time(request: web.Request) -> web.Response:
    """GET /api/v5/public/time."""
    return web.json_response({"code": "0", "msg": "", "data": [{"ts": str(now_ms())}]})


async def unsigned(request: web.Request) -> tuple[str, web.Response | None]:
    """Returns the raw body and, when the request is not authentic, the response refusing it."""
    raw = (await request.read()).decode("utf-8", errors="replace")
    venue = request.app[VENUE_KEY]
    refused = check_rest(
        venue.config, request.headers, request.method, request.raw_path, raw, time.time()
    )
    return raw, None if refused is None else error(401, refused.code, refused.msg)


async def _signed_body(request: web.Request) -> dict[str, Any] | web.Response:
    """Returns the JSON body of an authentic trading request, or the response refusing it."""
    raw, refused = await unsigned(request)
    if refused is not None:
        return refused
    if not request.app[VENUE_KEY].config.permits("trade"):
        return error(200, "50120", "This API key doesn't have permission to use this function")
    try:
        body = json.loads(raw)
    except ValueError:
        return error(400, "50002", "JSON syntax error")
    if not isinstance(body, dict):
        return error(400, "50002", "JSON syntax error")
    return body


@dataclass(frozen=True)
class _Result:
    """The per-order item of a place or cancel reply (sCode "0" = accepted)."""

    ord_id: str
    cl_ord_id: str
    tag: str
    ts: int
    s_code: str = "0"
    s_msg: str = ""
    sub_code: str = ""


def _refused(ord_id: str, cl_ord_id: str, tag: str, ts: int, why: Reject) -> _Result:
    return _Result(ord_id, cl_ord_id, tag, ts, why.s_code, why.s_msg, why.sub_code)


def _reply(result: _Result, in_time: str, with_tag: bool) -> web.Response:
    item: dict[str, str] = {"clOrdId": result.cl_ord_id, "ordId": result.ord_id}
    if with_tag:
        item["tag"] = result.tag
    item.update({"ts": str(result.ts), "sCode": result.s_code, "sMsg": result.s_msg})
    if with_tag:
        item["subCode"] = result.sub_code
    ok = result.s_code == "0"
    return web.json_response(
        {
            "code": "0" if ok else "1",
            "msg": "" if ok else "Operation failed.",
            "data": [item],
            "inTime": in_time,
            "outTime": _now_us(),
        }
    )


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


def _order_id(outcome: Outcome) -> str:
    return outcome.order.order_id if outcome.order is not None else ""


async def place_order(request: web.Request) -> web.Response:
    """POST /api/v5/trade/order."""
    in_time = _now_us()
    body = await _signed_body(request)
    if isinstance(body, web.Response):
        return body
    venue = request.app[VENUE_KEY]
    parsed = parse_order(body, venue.exchange.markets)
    cl_ord_id, tag = _text(body, "clOrdId"), _text(body, "tag")
    if isinstance(parsed, Reject):
        return _reply(_refused("", cl_ord_id, tag, now_ms(), parsed), in_time, with_tag=True)
    outcome, events = venue.exchange.place(parsed)
    if outcome.refused is not None:
        why = reject(outcome.refused, venue.exchange.markets[parsed.market].instrument)
        result = _refused("", cl_ord_id, tag, outcome.ts, why)
    else:
        result = _Result(_order_id(outcome), cl_ord_id, tag, outcome.ts)
    response = _reply(result, in_time, with_tag=True)
    venue.publish_soon(events)
    return response


async def _cancel(venue: Venue, inst_id: str, ord_id: str, cl_ord_id: str) -> _Result:
    outcome, events = venue.exchange.cancel(inst_id, ord_id, cl_ord_id)
    venue.publish_soon(events)
    order = outcome.order
    if outcome.refused is None and order is not None:
        return _Result(order.order_id, order.request.client_id, "", outcome.ts)
    why = reject(
        outcome.refused or Refusal.UNKNOWN_ORDER, venue.exchange.markets[inst_id].instrument
    )
    return _refused(order.order_id if order else ord_id, cl_ord_id, "", outcome.ts, why)


async def cancel_order(request: web.Request) -> web.Response:
    """POST /api/v5/trade/cancel-order."""
    in_time = _now_us()
    body = await _signed_body(request)
    if isinstance(body, web.Response):
        return body
    venue = request.app[VENUE_KEY]
    inst_id, ord_id, cl_ord_id = (_text(body, k) for k in ("instId", "ordId", "clOrdId"))
    if inst_id not in venue.exchange.markets:
        result = _Result(ord_id, cl_ord_id, "", now_ms(), "51001", "Instrument ID does not exist.")
    elif not ord_id and not cl_ord_id:
        result = _Result("", "", "", now_ms(), "51000", "Parameter ordId error")
    else:
        result = await _cancel(venue, inst_id, ord_id, cl_ord_id)
    return _reply(result, in_time, with_tag=False)


def add_routes(app: web.Application) -> None:
    """Mounts the REST endpoints on their OKX paths."""
    app.router.add_get("/api/v5/public/time", server_time)
    app.router.add_post("/api/v5/trade/order", place_order)
    app.router.add_post("/api/v5/trade/cancel-order", cancel_order)
