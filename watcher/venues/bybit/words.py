"""Bybit v5's order words mapped to the canonical ones.

https://bybit-exchange.github.io/docs/v5/enum (orderStatus, orderType, stopOrderType,
timeInForce); the table is docs/rules/order.md's. A word not listed here is refused
(ValueError), so the frame that carries it is an UnknownMessage at the edge, never a state no
rule can name. A conditional or TP/SL order (a stopOrderType) takes the algo type OKX gives the
same order; a plain limit order's time in force refines its type as OKX's ordType does.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from watcher.events import OrderState, OrderType
from watcher.venues.words import canonical

STATES: Final[Mapping[str, OrderState]] = MappingProxyType(
    {
        "New": "live",
        "PartiallyFilled": "partially_filled",
        "Untriggered": "live",  # a conditional order waiting for its trigger (OKX: an algo live)
        "Rejected": "rejected",
        "PartiallyFilledCanceled": "canceled",  # spot: canceled after a partial fill
        "Filled": "filled",
        "Cancelled": "canceled",  # derivatives: may have filled partly
        "Triggered": "effective",  # instantaneous: from Untriggered to New
        "Deactivated": "canceled",  # a spot TP/SL, conditional or OCO order canceled untriggered
    }
)
TYPES: Final[Mapping[str, OrderType]] = MappingProxyType({"Market": "market", "Limit": "limit"})
# stopOrderType: "" or UNKNOWN for a plain order, else the kind of conditional order it is.
PLAIN: Final = frozenset({"", "UNKNOWN"})
STOP_TYPES: Final[Mapping[str, OrderType]] = MappingProxyType(
    {
        "TakeProfit": "conditional",
        "StopLoss": "conditional",
        "PartialTakeProfit": "conditional",
        "PartialStopLoss": "conditional",
        "tpslOrder": "conditional",  # spot TP/SL
        "BidirectionalTpslOrder": "conditional",  # spot bidirectional TP/SL
        "MmRateClose": "conditional",  # closes on the maintenance margin rate
        "Stop": "trigger",  # a conditional order (placed with triggerPrice)
        "TrailingStop": "move_order_stop",
        "OcoOrder": "oco",  # spot OCO
    }
)
_LIMIT_BY_TIME_IN_FORCE: Final[Mapping[str, OrderType]] = MappingProxyType(
    {"IOC": "ioc", "FOK": "fok", "PostOnly": "post_only"}
)


def state(value: object) -> OrderState:
    """Return the canonical state of an orderStatus; ValueError if unknown."""
    return canonical(STATES, value, "Bybit orderStatus")


def order_type(value: object) -> OrderType:
    """Return the canonical type of an orderType; ValueError if unknown."""
    return canonical(TYPES, value, "Bybit orderType")


def stop_order_type(value: object) -> str:
    """Return a stopOrderType unchanged if Bybit documents it; ValueError if not."""
    if not isinstance(value, str) or (value not in PLAIN and value not in STOP_TYPES):
        raise ValueError("not a Bybit stopOrderType")
    return value


def canonical_type(kind: OrderType, stop_type: str, time_in_force: str) -> OrderType:
    """Return the canonical type of an order: its stopOrderType's, else its orderType as its
    time in force refines a limit."""
    if stop_type not in PLAIN:
        return STOP_TYPES[stop_type]
    return _LIMIT_BY_TIME_IN_FORCE.get(time_in_force, kind) if kind == "limit" else kind
