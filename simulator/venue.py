"""The running simulated exchange: its state, its clients and what moves its prices."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from aiohttp import web

from simulator.config import SimConfig
from simulator.connection import Hub
from simulator.engine import Exchange, Push


class Venue:
    """Owns the exchange state and the hub; runs the random walk and the price paths."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.exchange = Exchange(config)
        self.hub = Hub()
        self._paths: dict[str, asyncio.Task[None]] = {}
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
        await self.hub.close_all("public", 1001)
        await self.hub.close_all("private", 1001)

    async def publish(self, pushes: Sequence[Push]) -> None:
        """Delivers pushes to their subscribers."""
        for push in pushes:
            await self.hub.publish(push, self.config.uid)

    async def set_price(self, inst_id: str, price: Decimal) -> None:
        """Sets a price now (stopping a path playing on that market) and pushes it."""
        self.stop_path(inst_id)
        await self.publish(self.exchange.set_price(inst_id, price))

    def play_path(self, inst_id: str, prices: Sequence[Decimal], interval: float) -> None:
        """Plays prices one per `interval` (the first at once), then holds the last."""
        self.stop_path(inst_id)
        self._paths[inst_id] = asyncio.create_task(self._play(inst_id, prices, interval))

    def stop_path(self, inst_id: str) -> None:
        """Stops the path playing on a market, if any."""
        task = self._paths.pop(inst_id, None)
        if task is not None:
            task.cancel()

    def state(self) -> dict[str, Any]:
        """Returns what GET /sim/state shows."""
        clients = {
            feed: [c.describe() for c in self.hub.all(feed)] for feed in ("public", "private")
        }
        return {
            **self.exchange.state(),
            "paths": sorted(self._paths),
            "walk": self.config.walk,
            "connected": {feed: len(items) for feed, items in clients.items()},
            "loggedIn": sum(1 for c in clients["private"] if c["loggedIn"]),
            "clients": clients,
        }

    async def _play(self, inst_id: str, prices: Sequence[Decimal], interval: float) -> None:
        try:
            for index, price in enumerate(prices):
                if index:
                    await asyncio.sleep(interval)
                await self.publish(self.exchange.set_price(inst_id, price))
        finally:
            if self._paths.get(inst_id) is asyncio.current_task():
                del self._paths[inst_id]

    async def _walk(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            for inst_id, market in self.exchange.markets.items():
                if inst_id in self._paths:
                    continue
                price = market.next_walk_price()
                if price != market.last:
                    await self.publish(self.exchange.set_price(inst_id, price))


# Where the aiohttp application keeps its Venue.
VENUE_KEY = web.AppKey("venue", Venue)
