"""Which Binance connections an engine event reaches, and as which frames.

Market streams (the "public" feed) are named by the URL (`/stream?streams=a/b`, `/ws/<stream>`)
or by SUBSCRIBE, each kept as a subscription {"stream": name}; a combined connection wraps each
payload as {"stream", "data"}. User data (the "private" feed) goes to connections on the active
listen key: an order update as an executionReport (spot) or a TRADE_LITE before the
ORDER_TRADE_UPDATE of a fill (USD-M); the position a fill moved and the cash after it as one
outboundAccountPosition (spot, the base asset then the quote) or one ACCOUNT_UPDATE (USD-M).
"""

from __future__ import annotations

import itertools
from typing import Any

from simulator.account import Balance, PositionView
from simulator.binance import market_frames, user_frames
from simulator.binance.listen_keys import USER_FEED, ListenKeys
from simulator.binance.product import Product
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Ticker
from simulator.orders import OrderView

Frame = dict[str, Any]
COMBINED_PATH = "/stream"


def stream_parts(stream: str) -> tuple[str, str]:
    """Splits a stream name into (symbol in lower case, kind): btcusdt@markPrice@1s ->
    ("btcusdt", "markPrice@1s")."""
    symbol, _, kind = stream.partition("@")
    return symbol, kind


class Pushes:
    """Renders events for one hosted product; keeps what a fill's events share until its last."""

    def __init__(self, product: Product) -> None:
        self.product = product
        self.listen_keys: ListenKeys | None = None  # set once the routes are mounted
        # The client id each canceled order's cancel request carried (spot reports it).
        self.cancel_ids: dict[str, str] = {}
        # Positions a fill moved, per client, until the cash update that ends the fill's events.
        self._held: dict[Client, list[PositionView]] = {}
        self._book_ids = itertools.count(1)

    def render(self, client: Client, event: Event) -> list[Frame]:
        """Returns the frames `event` sends to `client`."""
        if client.feed != USER_FEED:
            return self._market(client, event) if isinstance(event, Ticker) else []
        keys = self.listen_keys
        if keys is None or not keys.serves(client):
            return []
        if isinstance(event, OrderView):
            return self._order(event)
        if isinstance(event, PositionView):
            self._held.setdefault(client, []).append(event)
            return []
        if isinstance(event, Balance):
            moved = self._held.pop(client, [])
            if self.product.futures:
                return [user_frames.account_update(event, moved)]
            return [user_frames.account_position(event, moved)]
        return []

    def forget(self, client: Client) -> None:
        """Drops what is held for a client that went away."""
        self._held.pop(client, None)

    def market_payload(self, kind: str, ticker: Ticker) -> Frame:
        """Returns one stream kind's payload for a price."""
        futures = self.product.futures
        if kind == "ticker":
            return market_frames.ticker_24hr(ticker, futures)
        if kind == "bookTicker":
            return market_frames.book_ticker(ticker, next(self._book_ids), futures)
        return market_frames.mark_price(ticker)

    def wrap(self, client: Client, stream: str, payload: Frame) -> Frame:
        """Returns a payload as this client's connection sends it (combined or raw)."""
        return market_frames.combined(stream, payload) if combined(client) else payload

    def _market(self, client: Client, ticker: Ticker) -> list[Frame]:
        frames = []
        symbol = ticker.market.lower()
        for sub in client.subscriptions:
            stream = sub.get("stream", "")
            name, kind = stream_parts(stream)
            if name == symbol:
                frames.append(self.wrap(client, stream, self.market_payload(kind, ticker)))
        return frames

    def _order(self, o: OrderView) -> list[Frame]:
        if not self.product.futures:
            return [user_frames.execution_report(o, self.cancel_ids.get(o.order_id, ""))]
        update = user_frames.order_trade_update(o)
        return [user_frames.trade_lite(o), update] if o.fill is not None else [update]


def combined(client: Client) -> bool:
    """Tells whether a market connection is a combined stream (payloads wrapped)."""
    return client.url.path == COMBINED_PATH
