"""FTX (historical) on the simulator: the WebSocket klaxon started from (the exchange closed in
November 2022). One feed at /ws/: {"op": "ping"} -> {"type": "pong"}; {"op": "login", "args":
{key, sign, time, subaccount?}} checked with this package's own signature code (no reply when
good, as FTX; {"type": "error", "code": 400, "msg": "Invalid login credentials"} when not);
{"op": "subscribe", "channel": "ticker", "market"} and, once logged in, "fills" and "orders".
Engine events render as FTX updates with numbers as JSON numbers. REST: POST /api/orders only
(rest.py), for a test or a demo to make fills.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar

from aiohttp import web

from simulator.config import SimConfig
from simulator.connection import Client, serve
from simulator.events import Event
from simulator.ftx import rest
from simulator.market import Instrument, Ticker, default_tick, now_ms
from simulator.orders import OrderView
from simulator.protocol import Frame
from simulator.venue import VENUE_KEY

LOGIN_WINDOW_MS = 30_000  # how far a login's time may lie from the simulator's clock
_PRIVATE = ("fills", "orders")


def sign(secret: str, time_ms: int) -> str:
    """Returns FTX's login signature: hex HMAC-SHA256(secret, f"{time}websocket_login")."""
    return hmac.new(
        secret.encode(), f"{time_ms}websocket_login".encode(), hashlib.sha256
    ).hexdigest()


def login_refusal(config: SimConfig, args: object, now: int) -> str | None:
    """Returns why a login's args are refused, or None when key, time and sign are right."""
    if not isinstance(args, dict):
        return "Invalid login credentials"
    at = args.get("time")
    if type(at) is not int or abs(now - at) > LOGIN_WINDOW_MS:
        return "Invalid login credentials"
    good = hmac.compare_digest(str(args.get("sign", "")), sign(config.secret_key, at))
    if args.get("key") != config.api_key or not good:
        return "Invalid login credentials"
    return None


def _num(value: Decimal) -> Any:
    """A Decimal as FTX sends it: a JSON number (int or float)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _iso(ms: int) -> str:
    """Epoch ms as FTX wrote times: ISO 8601 with microseconds and +00:00."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


class Ftx:
    """FTX's WebSocket (historical) over the engine."""

    name: ClassVar[str] = "ftx"
    feeds: ClassVar[Mapping[str, str]] = MappingProxyType({"ws": "/ws/"})
    default_markets: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"BTC-PERP": "20000", "BTC/USD": "20000"}
    )

    def __init__(self, config: SimConfig) -> None:
        self.config = config

    def instrument(self, market: str) -> Instrument | None:
        """Reads BASE-PERP (a linear perpetual, USD settled) or BASE/QUOTE (spot)."""
        if market.endswith("-PERP") and market[:-5].isalnum():
            base = market[:-5]
            return Instrument(base, "USD", "perpetual", default_tick(base))
        base, _, quote = market.partition("/")
        if base.isalnum() and quote.isalnum():
            return Instrument(base, quote, "spot", default_tick(base))
        return None

    def add_routes(self, app: web.Application) -> None:
        """Mounts /ws/ and POST /api/orders."""
        app.router.add_get("/ws/", self._ws)
        rest.add_routes(app)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]

        async def on_text(client: Client, raw: str) -> None:
            try:
                msg = json.loads(raw)
            except ValueError:
                await client.send({"type": "error", "code": 400, "msg": "Invalid JSON"})
                return
            op = msg.get("op") if isinstance(msg, dict) else None
            if op == "ping":
                await client.send({"type": "pong"})
            elif op == "login":
                why = login_refusal(self.config, msg.get("args"), now_ms())
                client.logged_in = why is None
                if why is not None:
                    await client.send({"type": "error", "code": 400, "msg": why})
            elif op in ("subscribe", "unsubscribe"):
                await self._subscribe(venue, client, op, msg)
            else:
                await client.send({"type": "error", "code": 400, "msg": "Invalid op"})

        return await serve(request, venue.hub, "ws", on_text)

    async def _subscribe(self, venue: Any, client: Client, op: str, msg: dict[str, Any]) -> None:
        channel, market = msg.get("channel"), msg.get("market")
        if channel in _PRIVATE:
            if not client.logged_in:
                await client.send({"type": "error", "code": 400, "msg": "Not logged in"})
                return
            arg = {"channel": channel}
        elif channel == "ticker" and market in venue.exchange.markets:
            arg = {"channel": channel, "market": market}
        else:
            await client.send({"type": "error", "code": 404, "msg": "No such market"})
            return
        if op == "subscribe":
            client.subscribe(arg)
        else:
            client.unsubscribe(arg)
        await client.send({"type": f"{op}d", **arg})

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the FTX updates an engine event sends to one client."""
        if isinstance(event, Ticker):
            if {"channel": "ticker", "market": event.market} not in client.subscriptions:
                return []
            data = {"bid": _num(event.bid), "ask": _num(event.ask), "bidSize": 1.0,
                    "askSize": 1.0, "last": _num(event.last), "time": event.ts / 1000}  # fmt: skip
            return [{"channel": "ticker", "market": event.market, "type": "update", "data": data}]
        if not isinstance(event, OrderView) or not client.logged_in:
            return []
        frames: list[Frame] = []
        f = event.fill
        if f is not None and {"channel": "fills"} in client.subscriptions:
            fill = {"id": int(f.seq), "market": event.request.market, "future": None,
                    "type": "order", "side": event.request.side, "price": _num(f.price),
                    "size": _num(f.size), "orderId": int(event.order_id),
                    "time": _iso(f.time), "tradeId": int(f.seq), "feeRate": _num(f.fee_rate),
                    "fee": _num(-f.fee), "feeCurrency": f.fee_ccy,
                    "liquidity": "maker" if f.maker else "taker"}  # fmt: skip
            frames.append({"channel": "fills", "type": "update", "data": fill})
        if {"channel": "orders"} in client.subscriptions:
            status = "open" if event.state in ("live", "partially_filled") else "closed"
            order = {"id": int(event.order_id), "clientId": event.request.client_id or None,
                     "market": event.request.market, "type": event.request.ord_type,
                     "side": event.request.side,
                     "price": None if event.request.price is None else _num(event.request.price),
                     "size": _num(event.request.size), "status": status,
                     "filledSize": _num(event.filled),
                     "remainingSize": _num(event.request.size - event.filled),
                     "avgFillPrice": None if event.avg_price is None else _num(event.avg_price),
                     "createdAt": _iso(event.c_time)}  # fmt: skip
            frames.append({"channel": "orders", "type": "update", "data": order})
        return frames

    def fault_body(self, status: int) -> Frame:
        """Returns FTX's REST error body shape."""
        return {"success": False, "error": f"HTTP {status}"}
