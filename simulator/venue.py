"""One running simulated venue: its protocol, exchange state, clients and what moves its prices."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from simulator.config import SimConfig
from simulator.connection import Hub
from simulator.engine import Exchange
from simulator.events import Event
from simulator.market import Market
from simulator.money import fmt, fmt_amount
from simulator.protocol import VenueProtocol


def exchange_state(exchange: Exchange) -> dict[str, Any]:
    """Returns a JSON-able picture of prices, pending orders, positions and cash (/sim/state's
    keys, which it took from OKX's field names when OKX was its only venue)."""
    return {
        "prices": {name: fmt(m.last) for name, m in exchange.markets.items()},
        "orders": [
            {
                "ordId": o.order_id,
                "clOrdId": o.request.client_id,
                "instId": o.request.market,
                "side": o.request.side,
                "ordType": o.request.ord_type,
                "px": fmt(o.request.price) if o.request.price is not None else "",
                "sz": fmt(o.request.size),
                "state": o.state,
            }
            for o in exchange.live_orders()
        ],
        "positions": {
            p.market: {"pos": fmt_amount(p.pos), "avgPx": fmt_amount(p.avg_px)}
            for p in exchange.account.positions.values()
        },
        "cash": fmt_amount(exchange.account.cash),
        "equity": fmt_amount(exchange.account.cash + exchange.valued.upl()),
        "fills": len(exchange.fills),
        # Every order ever accepted, oldest first, with when it was (ms): tests count them.
        "history": [
            {
                "ordId": o.order_id,
                "clOrdId": o.request.client_id,
                "instId": o.request.market,
                "side": o.request.side,
                "ordType": o.request.ord_type,
                "px": fmt(o.request.price) if o.request.price is not None else "",
                "sz": fmt(o.request.size),
                "reduceOnly": o.request.reduce_only,
                "state": o.state,
                "cTime": o.c_time,
            }
            for o in exchange.orders.values()
        ],
    }


def markets_of(config: SimConfig, protocol: VenueProtocol) -> list[Market]:
    """Builds the config's markets (else the venue's defaults); ValueError names a bad one."""
    markets = []
    for name, start in (config.markets or protocol.default_markets).items():
        instrument = protocol.instrument(name)
        if instrument is None:
            raise ValueError(f"SimConfig.markets[{name!r}] is not a market name of {protocol.name}")
        markets.append(Market(name, instrument, Decimal(start), config.seed))
    return markets


class Venue:
    """Owns the exchange state and the hub; runs the random walk and the price paths; sends each
    engine event to the clients as the venue's protocol renders it."""

    def __init__(self, config: SimConfig, protocol: VenueProtocol) -> None:
        self.config = config
        self.protocol = protocol
        self.exchange = Exchange(
            markets_of(config, protocol), Decimal(config.balance), Decimal(config.leverage)
        )
        self.hub = Hub(protocol.feeds)
        self._paths: dict[str, asyncio.Task[None]] = {}
        self._publishing: set[asyncio.Task[None]] = set()  # publish_soon()'s, until sent
        self._walk_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Starts the random walk when the config asks for one."""
        if self.config.walk:
            self._walk_task = asyncio.create_task(self._walk())

    async def stop(self) -> None:
        """Stops price drivers and closes every connection (1001 going away)."""
        tasks = [*self._paths.values(), *([self._walk_task] if self._walk_task else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._publishing:  # what REST calls changed reaches the clients before they go
            await asyncio.gather(*self._publishing, return_exceptions=True)
        for feed in self.protocol.feeds:
            await self.hub.close_all(feed, 1001)

    async def publish(self, events: Sequence[Event]) -> None:
        """Sends each event to every client its protocol renders it for (but paused feeds')."""
        paused = self.hub.paused
        for event in events:
            for client in self.hub.all():
                if client.feed in paused:
                    continue
                for frame in self.protocol.render(client, event):
                    await client.send(frame)

    def publish_soon(self, events: Sequence[Event]) -> None:
        """publish() in a task of its own: a REST call is answered without waiting for its
        pushes, as a venue's matching engine answers while its WebSocket gateways push (and a
        burst of orders is taken one after another, not one push after another). The task runs
        at the loop's next turn, before a later request is handled, so pushes keep their order."""
        if not events:
            return
        task = asyncio.create_task(self.publish(events))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    async def set_price(self, market: str, price: Decimal) -> None:
        """Sets a price now (stopping a path playing on that market) and pushes it."""
        self.stop_path(market)
        await self.publish(self.exchange.set_price(market, price))

    def play_path(self, market: str, prices: Sequence[Decimal], interval: float) -> None:
        """Plays prices one per `interval` (the first at once), then holds the last."""
        self.stop_path(market)
        self._paths[market] = asyncio.create_task(self._play(market, prices, interval))

    def stop_path(self, market: str) -> None:
        """Stops the path playing on a market, if any."""
        task = self._paths.pop(market, None)
        if task is not None:
            task.cancel()

    def state(self) -> dict[str, Any]:
        """Returns what GET /sim/state shows."""
        clients = {feed: [c.describe() for c in self.hub.all(feed)] for feed in self.protocol.feeds}
        return {
            "venue": self.protocol.name,
            **exchange_state(self.exchange),
            "paths": sorted(self._paths),
            "walk": self.config.walk,
            "connected": {feed: len(items) for feed, items in clients.items()},
            "paused": sorted(self.hub.paused),
            "refused": sorted(self.hub.refused),
            "loggedIn": sum(1 for items in clients.values() for c in items if c["loggedIn"]),
            "clients": clients,
        }

    async def _play(self, market: str, prices: Sequence[Decimal], interval: float) -> None:
        try:
            for index, price in enumerate(prices):
                if index:
                    await asyncio.sleep(interval)
                await self.publish(self.exchange.set_price(market, price))
        finally:
            if self._paths.get(market) is asyncio.current_task():
                del self._paths[market]

    async def _walk(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            for name, market in self.exchange.markets.items():
                if name in self._paths:
                    continue
                price = market.next_walk_price()
                if price != market.last:
                    await self.publish(self.exchange.set_price(name, price))


# Where the aiohttp application of a venue keeps its Venue.
VENUE_KEY = web.AppKey("venue", Venue)
