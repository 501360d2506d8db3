"""FTX's order entry on the simulator: POST /api/orders, signed as FTX's REST was.

The recipe of docs.ftx.com "REST API: Authentication" and FTX's sample client
(github.com/ftexchange/ftx rest/client.py, FtxClient._sign_request): headers FTX-KEY, FTX-TS (epoch
ms) and FTX-SIGN = hex HMAC-SHA256(secret, f"{ts}{method}{path}" + body). Replies are
{"success": true, "result": <order>} or {"success": false, "error": <text>}. The order's
updates and fills go out on the WebSocket's orders and fills channels.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from simulator.market import now_ms
from simulator.orders import OrderRequest
from simulator.venue import VENUE_KEY

SIGN_WINDOW_MS = 30_000


def rest_sign(secret: str, ts: int, method: str, path: str, body: str) -> str:
    """Returns FTX-SIGN: hex HMAC-SHA256(secret, f"{ts}{method}{path}{body}")."""
    message = f"{ts}{method}{path}{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _error(text: str, status: int = 400) -> web.Response:
    return web.json_response({"success": False, "error": text}, status=status)


async def place_order(request: web.Request) -> web.Response:
    """POST /api/orders {market, side, type, size, price?, clientId?}."""
    venue = request.app[VENUE_KEY]
    body = (await request.read()).decode("utf-8", "replace")
    ts = request.headers.get("FTX-TS", "")
    expected = rest_sign(venue.config.secret_key, int(ts) if ts.isdigit() else 0, "POST",
                         request.path, body)  # fmt: skip
    fresh = ts.isdigit() and abs(now_ms() - int(ts)) <= SIGN_WINDOW_MS
    good = hmac.compare_digest(request.headers.get("FTX-SIGN", ""), expected)
    if request.headers.get("FTX-KEY") != venue.config.api_key or not (fresh and good):
        return _error("Not logged in", 401)
    try:
        req = _order(json.loads(body), venue.exchange.markets)
    except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
        return _error(f"Invalid parameter {exc}")
    outcome, events = venue.exchange.place(req)
    if outcome.order is None:
        return _error(f"Order refused ({outcome.refused.value if outcome.refused else ''})")
    venue.publish_soon(events)
    order = outcome.order
    result = {"id": int(order.order_id), "clientId": req.client_id or None,
              "market": req.market, "side": req.side, "type": req.ord_type,
              "size": float(req.size), "status": "new"}  # fmt: skip
    return web.json_response({"success": True, "result": result})


def _order(body: dict[str, Any], markets: Any) -> OrderRequest:
    market = body["market"]
    if market not in markets:
        raise ValueError("market")
    side, kind = body["side"], body["type"]
    if side not in ("buy", "sell") or kind not in ("market", "limit"):
        raise ValueError("side" if side not in ("buy", "sell") else "type")
    price = body.get("price")
    return OrderRequest(
        market=market,
        side=side,
        ord_type=kind,
        size=Decimal(str(body["size"])),
        price=None if price is None else Decimal(str(price)),
        client_id=body.get("clientId") or "",
    )


def add_routes(app: web.Application) -> None:
    """Mounts POST /api/orders."""
    app.router.add_post("/api/orders", place_order)
