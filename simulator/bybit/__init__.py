"""Bybit v5 on the simulator: public tickers per category (snapshot, then deltas on linear), the
private stream (auth checked with this package's own signing code; order, execution, position
and wallet topics), REST order entry, cancel, open orders, executions and the API key's info,
and Bybit's retCodes for every refusal.

Markets are named <category>:<symbol> (linear:BTCUSDT, spot:BTCUSDT). Modules: ws (endpoints)
with replies (each stream's reply shapes); push (which subscription an event reaches), tickers
and items (its data); rest and rest_query (REST); orders (create-order bodies, retCodes);
names (Bybit's words); signing (REST and auth signatures).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from aiohttp import web

from simulator.bybit import names, rest, rest_query, ws
from simulator.bybit.push import FEEDS, Pushes
from simulator.config import SimConfig
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Instrument
from simulator.protocol import Frame


class Bybit:
    """Bybit v5 (WS + REST) over the engine."""

    name: ClassVar[str] = "bybit"
    feeds: ClassVar[Mapping[str, str]] = MappingProxyType(FEEDS)
    default_markets: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"linear:BTCUSDT": "60000", "linear:ETHUSDT": "3000", "spot:BTCUSDT": "60000"}
    )

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.pushes = Pushes(config.uid)

    def instrument(self, market: str) -> Instrument | None:
        """Reads a market name: spot:BASEQUOTE or linear:BASEQUOTE (USDT or USDC quoted)."""
        return names.instrument(market)

    def add_routes(self, app: web.Application) -> None:
        """Mounts /v5/public/spot, /v5/public/linear, /v5/private and the /v5 REST endpoints."""
        ws.add_routes(app, self.pushes)
        rest.add_routes(app)
        rest_query.add_routes(app)

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the Bybit pushes an event sends to one client."""
        return self.pushes.render(client, event)

    def fault_body(self, status: int) -> Frame:
        """Returns Bybit's body for a 5xx."""
        return rest.fault(status)
