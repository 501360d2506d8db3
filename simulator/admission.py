"""Whether the simulated exchange takes an order: duplicate ids, reduce-only rules, margin.

Codes and messages are OKX's (https://www.okx.com/docs-v5/en/#error-code-rest-api-trade-class).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from simulator.account import Account
from simulator.market import quote_ccy
from simulator.orders import Order, OrderRequest, Reject

# clOrdId is unique among the account's pending orders only; a done order's id may be reused.
DUPLICATE = Reject("51016", "Client order ID already exists.")
NO_POSITION = Reject(
    "51169",
    "Order failed because you don't have any positions in this direction for this contract "
    "to reduce or close.",
)
SAME_DIRECTION = Reject(
    "51170",
    "Failed to place order. A reduce-only order can\u2019t be the same trading direction as your "
    "existing positions.",
)
# OKX: "If sz exceeds the current position size, the entire order is rejected - the system does
# not auto-trim". Which code it answers with is not documented; these two name the case.
SWAP_TOO_LARGE = Reject("51112", "Close order size exceeds available size for this position.")
MARGIN_TOO_LARGE = Reject(
    "51134",
    "Closing failed. Please check your margin holdings and pending orders. "
    "Turn off the Reduce-only to continue.",
)


def refusal(
    req: OrderRequest,
    account: Account,
    live: Sequence[Order],
    marks: Mapping[str, Decimal],
    leverage: Decimal,
) -> Reject | None:
    """Returns why OKX would refuse this order now, or None when it would take it."""
    if req.cl_ord_id and any(o.request.cl_ord_id == req.cl_ord_id for o in live):
        return DUPLICATE
    if req.reduce_only:
        return _reduce_only(req, position_of(account, req.inst_id), live)
    return _margin(req, account, live, marks, leverage)


def position_of(account: Account, inst_id: str) -> Decimal:
    """Returns the signed net position held in a market (0 when none)."""
    held = account.positions.get(inst_id)
    return held.pos if held is not None else Decimal(0)


def closable(side: str, pos: Decimal) -> Decimal:
    """Returns how much an order on `side` can close of a signed position."""
    reduces = pos < 0 if side == "buy" else pos > 0
    return abs(pos) if reduces else Decimal(0)


def _reduce_only(req: OrderRequest, pos: Decimal, live: Sequence[Order]) -> Reject | None:
    if pos == 0:
        return NO_POSITION
    if not closable(req.side, pos):
        return SAME_DIRECTION
    # The new size plus the resting reduce-only orders ahead of it may not exceed the position.
    ahead = sum(
        (o.request.sz - o.acc_fill_sz for o in live if _ahead(o, req)),
        start=Decimal(0),
    )
    if req.sz + ahead > abs(pos):
        return SWAP_TOO_LARGE if req.inst_id.endswith("-SWAP") else MARGIN_TOO_LARGE
    return None


def _ahead(resting: Order, new: OrderRequest) -> bool:
    """Tells whether a resting reduce-only order has price-time priority over a new one."""
    req = resting.request
    if not req.reduce_only or req.inst_id != new.inst_id or req.side != new.side:
        return False
    if new.px is None or req.px is None:
        return new.px is not None  # a new market order goes first; a resting one would not rest
    return req.px <= new.px if new.side == "sell" else req.px >= new.px


def _opening(side: str, sz: Decimal, pos: Decimal) -> Decimal:
    """Returns the part of an order that opens or grows a position (the part needing margin)."""
    return max(sz - closable(side, pos), Decimal(0))


def _lever(td_mode: str, leverage: Decimal) -> Decimal:
    return Decimal(1) if td_mode == "cash" else leverage


def _margin(
    req: OrderRequest,
    account: Account,
    live: Sequence[Order],
    marks: Mapping[str, Decimal],
    leverage: Decimal,
) -> Reject | None:
    price = req.px if req.px is not None else marks[req.inst_id]
    pos = position_of(account, req.inst_id)
    need = _opening(req.side, req.sz, pos) * price / _lever(req.td_mode, leverage)
    if not need:
        return None
    used = sum(
        (abs(p.pos) * marks[p.inst_id] / Decimal(p.lever) for p in account.positions.values()),
        start=Decimal(0),
    )
    for o in live:
        o_req = o.request
        held = position_of(account, o_req.inst_id)
        opening = _opening(o_req.side, o_req.sz - o.acc_fill_sz, held)
        used += opening * (o_req.px or marks[o_req.inst_id]) / _lever(o_req.td_mode, leverage)
    if need <= account.equity(dict(marks)) - used:
        return None
    ccy = quote_ccy(req.inst_id)
    if req.td_mode == "cash":
        return Reject("51008", f"Order failed. Insufficient {ccy} balance in account", "1000")
    return Reject("51008", f"Order failed. Insufficient {ccy} margin in account", "1001")
