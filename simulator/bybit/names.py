"""Bybit's words for the engine's things: market names, categories, sides, statuses.

A market is named as klaxon names Bybit's: `<category>:<symbol>` (linear:BTCUSDT, spot:BTCUSDT),
since spot and linear both list BTCUSDT. The simulator serves two categories: spot, and linear
(USDT and USDC perpetuals, as the engine's "perpetual"); inverse and option are valid category
names it lists no market in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from simulator.market import Instrument, Kind, default_tick
from simulator.orders import OrderView, Side, State

# Every category Bybit v5 names (https://bybit-exchange.github.io/docs/v5/enum#category).
CATEGORIES = ("spot", "linear", "inverse", "option")
SERVED = ("spot", "linear")  # the categories the simulator has markets in
_QUOTES = ("USDT", "USDC")
_BASE = re.compile(r"^[A-Z0-9]{2,16}$")
SIDES: Mapping[str, Side] = MappingProxyType({"Buy": "buy", "Sell": "sell"})
# The engine's order state -> Bybit's orderStatus (https://bybit-exchange.github.io/docs/v5/enum#orderstatus).
_STATUSES: Mapping[State, str] = MappingProxyType(
    {"live": "New", "partially_filled": "PartiallyFilled", "filled": "Filled"}
)


def market_name(category: str, symbol: str) -> str:
    """Returns the simulator's market name of a Bybit symbol in a category."""
    return f"{category}:{symbol}"


def split(market: str) -> tuple[str, str]:
    """Returns (category, symbol) of a market name (("", "") when it is none)."""
    category, _, symbol = market.partition(":")
    return (category, symbol) if category in CATEGORIES and symbol else ("", "")


def instrument(market: str) -> Instrument | None:
    """Reads a market name: spot:BASEQUOTE or linear:BASEQUOTE with a USDT or USDC quote."""
    category, symbol = split(market)
    if category not in SERVED:
        return None
    for quote in _QUOTES:
        base = symbol.removesuffix(quote)
        if base != symbol and _BASE.match(base):
            kind: Kind = "perpetual" if category == "linear" else "spot"
            return Instrument(base, quote, kind, default_tick(base))
    return None


def category_of(instrument: Instrument) -> str:
    """Returns the Bybit category an instrument trades in."""
    return "linear" if instrument.kind == "perpetual" else "spot"


def bybit_side(side: str) -> str:
    """Returns Bybit's Buy or Sell."""
    return "Buy" if side == "buy" else "Sell"


def order_status(o: OrderView) -> str:
    """Returns an order's orderStatus; a spot order canceled after a fill is
    PartiallyFilledCanceled, as Bybit says it."""
    if o.state != "canceled":
        return _STATUSES[o.state]
    if o.filled and o.instrument.kind == "spot":
        return "PartiallyFilledCanceled"
    return "Cancelled"


def cancel_type(o: OrderView) -> str:
    """Returns an order's cancelType (https://bybit-exchange.github.io/docs/v5/enum#canceltype)."""
    if o.cancel_reason == "user":
        return "CancelByUser"
    if o.cancel_reason == "reduce_only":
        return "CancelByReduceOnly"
    return "UNKNOWN"
