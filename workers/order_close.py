"""Sizing a close_position order: the whole position in its market, read from the venue just
before the order is sent (the rule has no size; the order is reduce-only, so a position that
shrank in between is never overshot).

A position on the wrong side (long for a buy, short for a sell) or none at all is nothing to
close: the order is REJECTED (code no_position), never retried.
"""

from __future__ import annotations

from decimal import Decimal

from watcher.errors import RequestRejected, UnknownMessage
from watcher.venues import Positions, Trading


class Unsized(Exception):
    """No size to close: `code` and `reason` say why (the order is rejected)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def closing_size(trader: Trading, venue: str, market: str, side: str) -> Decimal:
    """Return the size a `side` order closing the position in `market` has; raise Unsized, or
    ExchangeUnavailable (ask again later)."""
    if not isinstance(trader, Positions):
        raise Unsized("config", f"klaxon cannot read positions on {venue}")
    try:
        size = trader.position_size(market)
    except RequestRejected as exc:
        raise Unsized(exc.code, f"reading the position: {exc.message}") from None
    except UnknownMessage as exc:
        raise Unsized("unknown", f"reading the position: {exc}") from None
    if not size:
        raise Unsized("no_position", f"no position in {market} to close")
    if (size > 0) != (side == "sell"):
        held = f"{'long' if size > 0 else 'short'} {abs(size):f}"
        why = f"the position in {market} is {held}: a {side} cannot close it"
        raise Unsized("no_position", why)
    return abs(size)
