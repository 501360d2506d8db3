"""OKX v5 on the simulator: the public and private WebSocket feeds (login checked with this
package's own signing code), REST order placement, cancel and lookups, fills and fills-history
paging, the account config, and OKX's codes for every refusal.

Modules: ws (endpoints) with ws_public, ws_private, ws_ops; push (which subscription an event
reaches) and frames (its data items); rest, rest_query and records (REST replies); orders (instIds,
place-order bodies, refusal codes); signing (REST and login signatures).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from aiohttp import web

from simulator.config import SimConfig
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Instrument
from simulator.okx import orders, push, rest, rest_query, ws
from simulator.protocol import Frame

# OKX's bodies for its 5xx answers (https://www.okx.com/docs-v5/en/#error-code-rest-api-public).
_FAULT_BODIES: Mapping[int, Frame] = MappingProxyType(
    {
        500: {"code": "50026", "msg": "System error. Try again later", "data": []},
        503: {
            "code": "50001",
            "msg": "Service temporarily unavailable. Please try again later.",
            "data": [],
        },
    }
)


class Okx:
    """OKX v5 (WS + REST) over the engine."""

    name: ClassVar[str] = "okx"
    feeds: ClassVar[Mapping[str, str]] = MappingProxyType(ws.FEEDS)
    default_markets: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"BTC-USDT": "60000", "ETH-USDT": "3000"}
    )

    def __init__(self, config: SimConfig) -> None:
        self.config = config

    def instrument(self, market: str) -> Instrument | None:
        """Reads an instId: BASE-QUOTE (spot) or BASE-QUOTE-SWAP (linear perpetual)."""
        return orders.instrument(market)

    def add_routes(self, app: web.Application) -> None:
        """Mounts /ws/v5/public, /ws/v5/private and the /api/v5 endpoints."""
        ws.add_routes(app)
        rest.add_routes(app)
        rest_query.add_routes(app)

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the OKX pushes an event sends to one client."""
        markets = self.config.markets or self.default_markets
        return push.render(client, event, self.config.uid, markets)

    def fault_body(self, status: int) -> Frame:
        """Returns OKX's body for a 5xx (its 503 body for a status it documents none for)."""
        return dict(_FAULT_BODIES.get(status, _FAULT_BODIES[503]))
