"""The seam between the neutral engine and one venue's protocol (see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from aiohttp import web

from simulator.config import SimConfig
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Instrument

Frame = dict[str, Any]


class VenueProtocol(Protocol):
    """A venue's wire protocol over the engine: one instance per hosted venue, built from its
    config. Its handlers find the running simulator.venue.Venue at request.app[VENUE_KEY]."""

    name: ClassVar[str]  # the registry key and SimConfig.venue
    # Feed name -> WebSocket path, e.g. {"public": "/ws/v5/public", "private": "/ws/v5/private"}.
    feeds: ClassVar[Mapping[str, str]]
    # Market name -> start price, for a config that names none.
    default_markets: ClassVar[Mapping[str, str]]

    def __init__(self, config: SimConfig) -> None: ...

    def instrument(self, market: str) -> Instrument | None:
        """Tells what a market name of this venue trades; None: not a name it could have."""

    def add_routes(self, app: web.Application) -> None:
        """Mounts the venue's WebSocket feeds (each via simulator.connection.serve) and REST."""

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the frames an engine event sends to one connected client (often none)."""

    def fault_body(self, status: int) -> Frame:
        """Returns the JSON body the venue answers an injected 5xx (/sim/fail) with."""
