"""Binance's order words (spot and USD-M, pushed or over REST) mapped to the canonical ones.

Statuses: https://developers.binance.com/docs/binance-spot-api-docs/enums (order status) and the
USD-M "Event: Order Update" and "Event: Algo Order Update" pages; types: the same pages' order
types. The table is docs/rules/order.md's. A word not listed here is refused (ValueError), so
the frame that carries it is an UnknownMessage at the edge, never a state no rule can name.
A limit order's time in force refines its type as OKX's ordType does: IOC -> ioc, FOK -> fok,
GTX (futures' post-only) -> post_only.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from watcher.events import OrderState, OrderType
from watcher.venues.words import canonical

STATES: Final[Mapping[str, OrderState]] = MappingProxyType(
    {
        "NEW": "live",
        "PENDING_NEW": "live",  # spot: waiting in an order list for its working order to fill
        "PARTIALLY_FILLED": "partially_filled",
        "FILLED": "filled",
        "CANCELED": "canceled",
        "PENDING_CANCEL": "live",  # "currently unused"
        "REJECTED": "rejected",
        "EXPIRED": "expired",  # by the order type's rules (an IOC's rest) or by the exchange
        "EXPIRED_IN_MATCH": "expired",  # by self-trade prevention
        "NEW_INSURANCE": "live",  # USD-M, earlier docs: a liquidation with the insurance fund
        "NEW_ADL": "live",  # USD-M, earlier docs: a counterparty liquidation (ADL)
    }
)
# ALGO_UPDATE's status; FINISHED (filled or canceled in the matching engine) is decided by the
# quantities: algo_state().
ALGO_STATES: Final[Mapping[str, OrderState]] = MappingProxyType(
    {
        "NEW": "live",  # waiting for its trigger
        "TRIGGERING": "triggered",  # triggered, forwarded to the matching engine
        "TRIGGERED": "effective",  # its order is in the matching engine
        "CANCELED": "canceled",
        "REJECTED": "order_failed",  # its order was refused (such as a margin check)
        "EXPIRED": "expired",  # canceled by the system
    }
)
FINISHED: Final = "FINISHED"
TYPES: Final[Mapping[str, OrderType]] = MappingProxyType(
    {
        "LIMIT": "limit",
        "MARKET": "market",
        "LIMIT_MAKER": "post_only",  # spot
        "STOP_LOSS": "conditional",  # spot
        "STOP_LOSS_LIMIT": "conditional",  # spot
        "TAKE_PROFIT": "conditional",  # spot (limit on USD-M)
        "TAKE_PROFIT_LIMIT": "conditional",  # spot
        "STOP": "conditional",  # USD-M
        "STOP_MARKET": "conditional",  # USD-M
        "TAKE_PROFIT_MARKET": "conditional",  # USD-M
        "TRAILING_STOP_MARKET": "move_order_stop",  # USD-M
        "LIQUIDATION": "liquidation",  # USD-M: the exchange's order closing a liquidated position
    }
)
_LIMIT_BY_TIME_IN_FORCE: Final[Mapping[str, OrderType]] = MappingProxyType(
    {"IOC": "ioc", "FOK": "fok", "GTX": "post_only"}
)


def state(value: object) -> OrderState:
    """Return the canonical state of an order status (X, status); ValueError if unknown."""
    return canonical(STATES, value, "Binance order status")


def algo_status(value: object) -> str:
    """Return an ALGO_UPDATE status unchanged if Binance documents it; ValueError if not."""
    if not isinstance(value, str) or (value not in ALGO_STATES and value != FINISHED):
        raise ValueError("not a Binance algo status")
    return value


def algo_state(status: str, size: Decimal, executed: Decimal) -> OrderState:
    """Return the canonical state of an algo status: FINISHED is filled when its order filled
    the algo's size (or anything, for a close-position algo of size 0), else canceled."""
    if status != FINISHED:
        return ALGO_STATES[status]
    return "filled" if executed > 0 and executed >= size else "canceled"


def order_type(value: object) -> OrderType:
    """Return the canonical type of an order type (o, type); ValueError if unknown."""
    return canonical(TYPES, value, "Binance order type")


def refined(kind: OrderType, time_in_force: str) -> OrderType:
    """Return a limit order's type as its time in force makes it (OKX's ioc, fok, post_only)."""
    return _LIMIT_BY_TIME_IN_FORCE.get(time_in_force, kind) if kind == "limit" else kind
