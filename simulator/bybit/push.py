"""Which Bybit subscriptions an engine event reaches, and the pushes it goes out in.

Public: a price goes to the `tickers.{symbol}` subscribers of its category's feed. Private
(https://bybit-exchange.github.io/docs/v5/websocket/private/order and siblings): the all-in-one
topics (order, execution, position, wallet) and the categorised ones (order.linear, ...); a
push is {"id", "topic" (as subscribed), "creationTime", "data": [item]}. Spot has no positions.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from simulator.account import Balance, PositionView
from simulator.bybit import items
from simulator.bybit.names import split
from simulator.bybit.tickers import TickerPushes
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Ticker, now_ms
from simulator.orders import OrderView

Frame = dict[str, Any]
FEEDS = {"public-spot": "/v5/public/spot", "public-linear": "/v5/public/linear",
         "private": "/v5/private"}  # fmt: skip
PRIVATE_TOPICS = ("order", "execution", "position", "wallet")


def public_feed(category: str) -> str:
    """Returns the name of a category's public feed."""
    return f"public-{category}"


def _topics(client: Client) -> list[str]:
    return [arg["topic"] for arg in client.subscriptions if "topic" in arg]


def _covering(client: Client, base: str, category: str) -> list[str]:
    """Returns the client's topics that carry `base` pushes of a category (as subscribed)."""
    return [t for t in _topics(client) if t == base or t == f"{base}.{category}"]


class Pushes:
    """Renders engine events as one venue's Bybit pushes (its ticker state and sequence)."""

    def __init__(self, uid: str) -> None:
        self.uid = uid
        self.tickers = TickerPushes()
        self._seq = itertools.count(1)

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the pushes an event sends to one client."""
        if isinstance(event, Ticker):
            return self._ticker(client, event)
        if client.feed != "private" or not client.logged_in:
            return []
        if isinstance(event, Balance):
            return [self._frame(t, items.wallet(event)) for t in _covering(client, "wallet", "")]
        if isinstance(event, PositionView):
            if event.instrument.kind == "spot":
                return []
            item = items.position(event, next(self._seq))
            return [self._frame(t, item) for t in _covering(client, "position", "linear")]
        return self._order(client, event)

    def _ticker(self, client: Client, t: Ticker) -> list[Frame]:
        category, symbol = split(t.market)
        if client.feed != public_feed(category):
            return []
        if {"topic": f"tickers.{symbol}"} not in client.subscriptions:
            return []
        return [self.tickers.push(client, t)]

    def _order(self, client: Client, o: OrderView) -> list[Frame]:
        category, symbol = split(o.request.market)
        pushed = []
        f = o.fill
        if f is not None:
            item = items.ws_execution(o, f)
            for topic in _covering(client, "execution", category):
                pushed.append(self._frame(topic, item, f"{self.uid}_{symbol}_{f.seq}"))
        item = items.ws_order(o)
        pushed += [self._frame(t, item) for t in _covering(client, "order", category)]
        return pushed

    def _frame(self, topic: str, item: Frame, push_id: str = "") -> Frame:
        return {"id": push_id or str(uuid.uuid4()), "topic": topic, "creationTime": now_ms(),
                "data": [item]}  # fmt: skip
