"""Which OKX subscriptions an engine event reaches, and the push envelopes it goes out in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from simulator.account import Balance, PositionView
from simulator.connection import Client
from simulator.events import Event
from simulator.market import Ticker
from simulator.okx import frames
from simulator.okx.orders import inst_type, position_inst_type

PUBLIC_CHANNELS = ("tickers", "mark-price", "index-tickers")
# Channels whose pushes carry eventType/curPage/lastPage (snapshot pagination).
PAGED_CHANNELS = frozenset({"positions", "account"})


def inst_matches(wanted: Mapping[str, str], kind: str, inst_id: str) -> bool:
    """Tells whether an orders/positions subscription (instType, instFamily, instId) covers it."""
    if wanted.get("instType", "ANY") not in ("ANY", kind):
        return False
    if wanted.get("instId") not in (None, inst_id):
        return False
    family = wanted.get("instFamily")
    return family is None or inst_id.startswith(family + "-")


def push_frame(arg: dict[str, str], uid: str, data: list[Any], event_type: str) -> frames.Frame:
    """Builds a push envelope: private args carry the uid, paged channels their page fields."""
    channel = arg.get("channel", "")
    frame: frames.Frame = {"arg": arg if channel in PUBLIC_CHANNELS else {**arg, "uid": uid}}
    if channel in PAGED_CHANNELS:
        frame.update({"eventType": event_type, "curPage": 1, "lastPage": True})
    frame["data"] = data
    return frame


def index_of(market: str) -> str:
    """Returns the index a market is priced against, OKX's `uly`: BTC-USDT-SWAP -> BTC-USDT."""
    return "-".join(market.split("-")[:2])


def index_market(markets: Iterable[str], index: str) -> str | None:
    """Returns the market whose price the simulator's index follows: the spot market of that
    name, else the first market of the index (None: no market has this index)."""
    found = sorted(m for m in markets if index_of(m) == index)
    if index in found:
        return index
    return found[0] if found else None


def ticker_item(channel: str, ticker: Ticker) -> frames.Frame:
    """Builds the data item of a public channel for a price."""
    if channel == "tickers":
        return frames.ticker(ticker)
    if channel == "index-tickers":
        return frames.index_ticker(ticker, index_of(ticker.market))
    return frames.mark_price(ticker)


def _public(client: Client, ticker: Ticker, markets: Iterable[str]) -> list[frames.Frame]:
    pushed = []
    index = index_of(ticker.market)
    leads = index_market(markets, index) == ticker.market
    for channel in PUBLIC_CHANNELS:  # tickers before mark-price, as OKX's pushes arrive
        wanted = index if channel == "index-tickers" else ticker.market
        if channel == "index-tickers" and not leads:
            continue
        for arg in client.subscriptions:
            if arg.get("channel") == channel and arg.get("instId") == wanted:
                item = ticker_item(channel, ticker)
                pushed.append(push_frame(arg, "", [item], "event_update"))
    return pushed


def _covers(arg: Mapping[str, str], event: Event) -> bool:
    channel = arg.get("channel")
    if isinstance(event, Balance):
        return channel == "account" and arg.get("ccy") in (None, "", event.ccy)
    if isinstance(event, PositionView):
        kind = position_inst_type(event.instrument)
        return channel == "positions" and inst_matches(arg, kind, event.market)
    if isinstance(event, Ticker):
        return False
    kind = inst_type(event.instrument, event.request.margin_mode)
    return channel == "orders" and inst_matches(arg, kind, event.request.market)


def private_item(event: Event) -> frames.Frame:
    """Builds the data item of a private channel for an order, position or balance."""
    if isinstance(event, Balance):
        return frames.account(event)
    if isinstance(event, PositionView):
        return frames.position(event)
    if isinstance(event, Ticker):
        raise TypeError("a price goes to the public channels")
    return frames.order(event)


def render(
    client: Client, event: Event, uid: str, markets: Iterable[str] = ()
) -> list[frames.Frame]:
    """Returns the pushes an event sends to one client: prices to public subscribers (an index
    follows one of `markets`, see index_market), the rest to logged-in private subscribers of
    a covering channel."""
    if isinstance(event, Ticker):
        return _public(client, event, markets) if client.feed == "public" else []
    if client.feed != "private" or not client.logged_in:
        return []
    covering = [arg for arg in client.subscriptions if _covers(arg, event)]
    if not covering:
        return []
    item = private_item(event)
    return [push_frame(arg, uid, [item], "event_update") for arg in covering]
