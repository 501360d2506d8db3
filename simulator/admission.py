"""Whether the simulated exchange takes an order: duplicate ids, reduce-only rules, margin."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import Enum

from simulator.account import Account, MarginMode
from simulator.orders import Order, OrderRequest
from simulator.valuation import Valuation


class Refusal(Enum):
    """Why the exchange refuses a place or cancel request; each venue words it its own way."""

    # A client order id is unique among the account's pending orders; a done order's id is free.
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    NO_POSITION = "no_position"  # reduce-only with no position to reduce
    SAME_DIRECTION = "same_direction"  # reduce-only on the side that would grow the position
    # Reduce-only larger than the position left after the reduce-only orders ahead of it: the
    # whole order is refused, never trimmed.
    REDUCE_TOO_LARGE = "reduce_too_large"
    INSUFFICIENT_BALANCE = "insufficient_balance"  # a cash order
    INSUFFICIENT_MARGIN = "insufficient_margin"  # a margin order
    UNKNOWN_ORDER = "unknown_order"
    NOT_PENDING = "not_pending"  # a cancel of an order already filled or canceled


def refusal(
    req: OrderRequest,
    account: Account,
    live: Sequence[Order],
    marks: Mapping[str, Decimal],
    leverage: Decimal,
    valued: Valuation,
) -> Refusal | None:
    """Returns why the exchange refuses this order now, or None when it takes it (`valued`:
    the account's positions at `marks`)."""
    if req.client_id and any(o.request.client_id == req.client_id for o in live):
        return Refusal.DUPLICATE_CLIENT_ID
    if req.reduce_only:
        return _reduce_only(req, position_of(account, req.market), live)
    return _margin(req, account, live, marks, leverage, valued)


def position_of(account: Account, market: str) -> Decimal:
    """Returns the signed net position held in a market (0 when none)."""
    held = account.positions.get(market)
    return held.pos if held is not None else Decimal(0)


def closable(side: str, pos: Decimal) -> Decimal:
    """Returns how much an order on `side` can close of a signed position."""
    reduces = pos < 0 if side == "buy" else pos > 0
    return abs(pos) if reduces else Decimal(0)


def _reduce_only(req: OrderRequest, pos: Decimal, live: Sequence[Order]) -> Refusal | None:
    if pos == 0:
        return Refusal.NO_POSITION
    if not closable(req.side, pos):
        return Refusal.SAME_DIRECTION
    # The new size plus the resting reduce-only orders ahead of it may not exceed the position.
    ahead = sum((o.left for o in live if _ahead(o, req)), start=Decimal(0))
    if req.size + ahead > abs(pos):
        return Refusal.REDUCE_TOO_LARGE
    return None


def _ahead(resting: Order, new: OrderRequest) -> bool:
    """Tells whether a resting reduce-only order has price-time priority over a new one."""
    req = resting.request
    if not req.reduce_only or req.market != new.market or req.side != new.side:
        return False
    if new.price is None or req.price is None:
        return new.price is not None  # a new market order goes first; a resting one never rests
    return req.price <= new.price if new.side == "sell" else req.price >= new.price


def _opening(side: str, sz: Decimal, pos: Decimal) -> Decimal:
    """Returns the part of an order that opens or grows a position (the part needing margin)."""
    return max(sz - closable(side, pos), Decimal(0))


def _lever(mode: MarginMode, leverage: Decimal) -> Decimal:
    return Decimal(1) if mode == "cash" else leverage


def _margin(
    req: OrderRequest,
    account: Account,
    live: Sequence[Order],
    marks: Mapping[str, Decimal],
    leverage: Decimal,
    valued: Valuation,
) -> Refusal | None:
    price = req.price if req.price is not None else marks[req.market]
    pos = position_of(account, req.market)
    need = _opening(req.side, req.size, pos) * price / _lever(req.margin_mode, leverage)
    if not need:
        return None
    used = valued.used()
    for o in live:
        o_req = o.request
        opening = _opening(o_req.side, o.left, position_of(account, o_req.market))
        used += opening * (o_req.price or marks[o_req.market]) / _lever(o_req.margin_mode, leverage)
    if need <= account.cash + valued.upl() - used:
        return None
    if req.margin_mode == "cash":
        return Refusal.INSUFFICIENT_BALANCE
    return Refusal.INSUFFICIENT_MARGIN
