"""Binance spot ("binance") and USD-M futures ("binanceusdm") on the simulator: two hosted
venues, because both name their markets BTCUSDT, speaking one protocol that differs by product.

Market streams, combined (`/stream?streams=btcusdt@ticker/btcusdt@bookTicker`) or raw
(`/ws/btcusdt@ticker`), render the engine's tickers as 24hrTicker, bookTicker and (USD-M)
markPriceUpdate; the user data stream on `/ws/<listenKey>` renders its orders, fills, positions
and cash as executionReport and outboundAccountPosition (spot) or ORDER_TRADE_UPDATE, TRADE_LITE
and ACCOUNT_UPDATE (USD-M). The server pings; listen keys expire (listenKeyExpired) and
connections end at their age limit, both compressible in SimConfig, and `POST
/sim/listen-key/expire` expires the key now. Signed REST (HMAC-SHA256 hex, or Ed25519 with
SimConfig.ed25519_public_key) places, cancels and queries orders by newClientOrderId, lists
trades, reports the key's restrictions, and manages the listen key, refusing in Binance's codes.

Modules: product (what differs between spot and USD-M, refusal codes), signing, calls (a REST
call's checks and parameters), rest_orders, rest_account, rest_lists (open orders, income),
records (REST replies), ws (endpoints, pings, age), push (which connection gets which frame),
market_frames and user_frames (payloads), words (Binance's names for the engine's), listen_keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from aiohttp import web

from simulator.binance import rest_account, rest_lists, rest_orders, ws
from simulator.binance.calls import PUSHES_KEY
from simulator.binance.listen_keys import ListenKeys
from simulator.binance.product import SPOT, USDM, Product
from simulator.binance.push import Pushes
from simulator.config import SimConfig
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Instrument
from simulator.protocol import Frame
from simulator.venue import VENUE_KEY

# Binance's bodies for its 5xx answers: 503 "Internal error; unable to process your request.
# Please try again." (-1001, a failure: resend), anything else -1000 UNKNOWN.
# https://developers.binance.com/docs/binance-spot-api-docs/errors
_FAULT_BODIES: Mapping[int, Frame] = MappingProxyType(
    {
        503: {
            "code": -1001,
            "msg": "Internal error; unable to process your request. Please try again.",
        },
        500: {"code": -1000, "msg": "An unknown error occurred while processing the request."},
    }
)


async def _expire_listen_key(request: web.Request) -> web.Response:
    """POST /sim/listen-key/expire: expires the active listen key now (as its life ending)."""
    keys = request.app[PUSHES_KEY].listen_keys
    told = -1 if keys is None else keys.expire()
    if told < 0:
        return web.json_response({"error": "no listen key is active"}, status=400)
    return web.json_response({"ok": True, "notified": told})


class _BinanceProduct:
    """One Binance product (the subclasses name it) over the engine."""

    name: ClassVar[str]
    product: ClassVar[Product]
    feeds: ClassVar[Mapping[str, str]] = MappingProxyType(ws.FEEDS)
    default_markets: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"BTCUSDT": "60000", "ETHUSDT": "3000"}
    )

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.pushes = Pushes(self.product)

    def instrument(self, market: str) -> Instrument | None:
        """Reads a symbol: BASEQUOTE (BTCUSDT)."""
        return self.product.instrument(market)

    def add_routes(self, app: web.Application) -> None:
        """Mounts the streams, the product's REST endpoints and /sim/listen-key/expire."""
        venue = app[VENUE_KEY]
        self.pushes.listen_keys = ListenKeys(venue.hub, self.config.listen_key_ttl)
        app[PUSHES_KEY] = self.pushes
        product = self.product
        ws.add_routes(app, self.pushes)
        rest_orders.add_routes(app, product.order, product.futures)
        api = product.order.rsplit("/", 1)[0]
        rest_account.add_routes(app, product.trades, product.listen_key, api)
        rest_lists.add_routes(app, api, product.futures)
        app.router.add_post("/sim/listen-key/expire", _expire_listen_key)

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the Binance frames an event sends to one client."""
        return self.pushes.render(client, event)

    def fault_body(self, status: int) -> Frame:
        """Returns Binance's body for a 5xx."""
        return dict(_FAULT_BODIES.get(status, _FAULT_BODIES[500]))


class Binance(_BinanceProduct):
    """Binance spot: BTCUSDT trades cash (no borrowing)."""

    name: ClassVar[str] = "binance"
    product: ClassVar[Product] = SPOT


class BinanceUsdm(_BinanceProduct):
    """Binance USD-M futures: BTCUSDT is a linear perpetual, cross margin, one-way (BOTH)."""

    name: ClassVar[str] = "binanceusdm"
    product: ClassVar[Product] = USDM


__all__ = ["Binance", "BinanceUsdm"]
