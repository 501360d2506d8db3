"""Binance order endpoints: place (POST), cancel (DELETE) and query (GET) one order, on spot's
/api/v3/order and USD-M's /fapi/v1/order.

The simulator takes LIMIT (GTC) and MARKET orders; USD-M's conditional types answer -4120 (they
moved to the Algo Order API), other types -1116. A newClientOrderId is unique among the pending
orders (Binance: "can be accepted only when the previous one is filled"): a duplicate answers
spot -2010 "Duplicate order sent." and USD-M -4116.
"""

from __future__ import annotations

from aiohttp import web

from simulator.admission import Refusal
from simulator.binance import records
from simulator.binance.calls import Call, RejectedError, Security, endpoint, generated_id
from simulator.binance.product import Reject, refusal
from simulator.orders import OrderRequest, OrderView

_ALGO_TYPES = frozenset(
    {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
)
_SWITCH_ALGO = Reject(
    400,
    -4120,
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
)
_PLACE_READS = frozenset(
    {"symbol", "side", "type", "timeInForce", "quantity", "price", "newClientOrderId"}
    | {"newOrderRespType"}
)
_USDM_PLACE_READS = _PLACE_READS | {"reduceOnly", "positionSide"}
_REF_READS = frozenset({"symbol", "orderId", "origClientOrderId"})


def _side(call: Call) -> str:
    value = call.required("side")
    if value not in ("BUY", "SELL"):
        raise RejectedError(Reject(400, -1117, "Invalid side."))
    return value.lower()


def _type(call: Call) -> str:
    value = call.required("type")
    if call.product.futures and value in _ALGO_TYPES:
        raise RejectedError(_SWITCH_ALGO)
    if value not in ("LIMIT", "MARKET"):
        raise RejectedError(Reject(400, -1116, "Invalid orderType."))
    return value


def _resp_type(call: Call) -> str:
    futures = call.product.futures
    value = call.text("newOrderRespType") or ("ACK" if futures else "FULL")
    if value not in (("ACK", "RESULT") if futures else ("ACK", "RESULT", "FULL")):
        raise RejectedError(Reject(400, -1136 if futures else -1130, "Invalid newOrderRespType."))
    return value


def _reduce_only(call: Call) -> bool:
    if not call.product.futures:
        return False
    side = call.text("positionSide")
    if side in ("LONG", "SHORT"):
        raise RejectedError(
            Reject(400, -4061, "Order's position side does not match user's setting.")
        )
    if side not in (None, "BOTH"):
        raise RejectedError(Reject(400, -4060, "Invalid position side."))
    value = call.text("reduceOnly")
    if value not in (None, "true", "false"):
        raise RejectedError(
            Reject(400, -1130, "Data sent for parameter 'reduceOnly' is not valid.")
        )
    return value == "true"


def _request(call: Call) -> OrderRequest:
    market, side, kind = call.symbol(), _side(call), _type(call)
    price = None
    if kind == "LIMIT":
        if call.required("timeInForce") != "GTC":
            raise RejectedError(Reject(400, -1115, "Invalid timeInForce."))
        price = call.quantity("price")
    else:
        call.not_sent("price")
        if not call.product.futures:
            call.not_sent("timeInForce")
    size = call.quantity("quantity")
    client_id = call.text("newClientOrderId")
    if client_id is None:
        client_id = generated_id()
    bad = call.product.bad_client_id(client_id)
    if bad is not None:
        raise RejectedError(bad)
    return OrderRequest(
        market=market,
        side="buy" if side == "buy" else "sell",
        ord_type="limit" if kind == "LIMIT" else "market",
        size=size,
        price=price,
        client_id=client_id,
        margin_mode=call.product.margin_mode,
        reduce_only=_reduce_only(call),
    )


async def place(call: Call) -> web.Response:
    """POST /api/v3/order, /fapi/v1/order."""
    req, resp_type = _request(call), _resp_type(call)
    outcome, events = call.venue.exchange.place(req)
    order = outcome.order
    if outcome.refused is not None or order is None:
        raise RejectedError(refusal(call.product, outcome.refused or Refusal.UNKNOWN_ORDER))
    call.venue.publish_soon(events)
    if call.product.futures:
        return web.json_response(records.usdm_order(order))
    fills = [e.fill for e in events if isinstance(e, OrderView) and e.fill is not None]
    return web.json_response(records.spot_new_order(order, resp_type, fills))


def _find(call: Call, market: str) -> OrderView | None:
    order_id = call.number("orderId")
    client_id = call.text("origClientOrderId")
    if order_id is None and not client_id:
        raise RejectedError(
            Reject(
                400,
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        )
    return call.venue.exchange.find(
        market, "" if order_id is None else str(order_id), client_id or ""
    )


async def cancel(call: Call) -> web.Response:
    """DELETE /api/v3/order, /fapi/v1/order: by orderId, else origClientOrderId."""
    market = call.symbol()
    unknown = refusal(call.product, Refusal.UNKNOWN_ORDER)
    found = _find(call, market)
    if found is None:
        raise RejectedError(unknown)
    cancel_id = call.text("newClientOrderId") or generated_id()
    call.pushes.cancel_ids[found.order_id] = cancel_id
    outcome, events = call.venue.exchange.cancel(market, found.order_id, "")
    if outcome.refused is not None or outcome.order is None:
        del call.pushes.cancel_ids[found.order_id]
        raise RejectedError(unknown)
    call.venue.publish_soon(events)
    if call.product.futures:
        return web.json_response(records.usdm_order(outcome.order))
    return web.json_response(records.spot_cancel(outcome.order, cancel_id))


async def query(call: Call) -> web.Response:
    """GET /api/v3/order, /fapi/v1/order: by orderId, else origClientOrderId."""
    found = _find(call, call.symbol())
    if found is None:
        raise RejectedError(Reject(400, -2013, "Order does not exist."))
    if call.product.futures:
        return web.json_response(records.usdm_order(found, query=True))
    return web.json_response(records.spot_order(found))


def add_routes(app: web.Application, path: str, futures: bool) -> None:
    """Mounts place, cancel and query on the product's order path."""
    reads = _USDM_PLACE_READS if futures else _PLACE_READS
    app.router.add_post(path, endpoint(Security.TRADE, reads, place))
    cancel_reads = _REF_READS if futures else _REF_READS | {"newClientOrderId"}
    app.router.add_delete(path, endpoint(Security.TRADE, cancel_reads, cancel))
    app.router.add_get(path, endpoint(Security.USER_DATA, _REF_READS, query))
