"""Binance USD-M futures user-data payloads as Binance names them, each converting to events.

https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams
The value types (and the fee sign) are wire.py's; positions use OKX's side names (net for
Binance's one-way BOTH, long, short) so that rules read the same on both venues.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, Field

from watcher.events import AccountUpdate, Balance, Fill, OrderUpdate, PositionUpdate, utc_from_ms
from watcher.venues.binance import words
from watcher.venues.binance.wire import (
    Amount,
    BinanceSide,
    BinanceState,
    BinanceType,
    Execution,
    Id,
    Ms,
    OptPrice,
    Price,
    Quantity,
    Size,
    WireModel,
)

_POSITION_SIDES = {"BOTH": "net", "LONG": "long", "SHORT": "short"}
_FILL_EXECUTIONS = frozenset({"TRADE", "CALCULATED"})  # CALCULATED: a liquidation's execution


def _position_side(value: object) -> object:
    side = _POSITION_SIDES.get(value) if isinstance(value, str) else None
    if side is None:
        raise ValueError("position side must be BOTH, LONG or SHORT")
    return side


PositionSide = Annotated[str, BeforeValidator(_position_side)]


class UsdmOrder(Execution):
    """The `o` object of an ORDER_TRADE_UPDATE."""

    o: BinanceType  # order type
    f: str = "GTC"  # time in force
    q: Size  # original quantity
    p: OptPrice = None  # original price
    ap: OptPrice = None  # average price
    x: str  # execution type: NEW, CANCELED, CALCULATED, EXPIRED, TRADE, AMENDMENT
    X: BinanceState  # order status
    z: Size  # cumulative filled quantity
    t: int = 0  # trade id
    er: str = "0"  # expiry reason, "0" for none


class OrderTradeUpdate(WireModel):
    """An ORDER_TRADE_UPDATE: the order's state; a TRADE (or CALCULATED) also carries a fill."""

    o: UsdmOrder

    def to_events(self, venue: str, account: str) -> list[OrderUpdate | Fill]:
        """Return the OrderUpdate, and the Fill when this update reports an execution."""
        o = self.o
        order = OrderUpdate(
            venue=venue,
            account=account,
            market=o.s,
            order_id=str(o.i),
            client_order_id=o.c,
            side=o.S,
            order_type=words.refined(o.o, o.f),
            state=o.X,
            size=o.q,
            filled=o.z,
            price=o.p,
            avg_price=o.ap,
            code="" if o.er in ("", "0") else o.er,
            at=utc_from_ms(o.T),
        )
        if o.x in _FILL_EXECUTIONS and o.executed:
            return [order, o.fill(venue, account)]
        return [order]


class TradeLite(Execution):
    """A TRADE_LITE: the low-latency fill (no fee); ORDER_TRADE_UPDATE repeats it with the fee.

    Both carry the trade id, and a fill rule claims once per trade id, so it fires once.
    """

    L: Price  # last filled price
    l: Quantity  # last filled quantity  # noqa: E741 - Binance's own key
    t: int  # trade id

    def to_event(self, venue: str, account: str) -> Fill:
        """Return the Fill."""
        return self.fill(venue, account)


class UsdmBalance(WireModel):
    """One asset of an ACCOUNT_UPDATE's `B`."""

    a: str  # asset
    wb: Amount  # wallet balance
    cw: Amount | None = None  # cross wallet balance


class UsdmPosition(WireModel):
    """One position of an ACCOUNT_UPDATE's `P`."""

    s: str
    pa: Amount  # position amount (negative: short in one-way mode)
    ep: OptPrice = None  # entry price
    up: Amount | None = None  # unrealized PnL
    ps: PositionSide

    def to_event(self, venue: str, account: str, ms: int) -> PositionUpdate:
        """Return the PositionUpdate (the event carries no per-position time: `ms` is its)."""
        return PositionUpdate(
            venue=venue,
            account=account,
            market=self.s,
            side=self.ps,
            size=self.pa,
            avg_price=self.ep,
            unrealized_pnl=self.up,
            at=utc_from_ms(ms),
        )


class UsdmAccountData(WireModel):
    """The `a` object of an ACCOUNT_UPDATE."""

    m: str = ""  # the reason for the update
    B: tuple[UsdmBalance, ...] = ()
    P: tuple[UsdmPosition, ...] = ()


class UsdmAccountUpdate(WireModel):
    """An ACCOUNT_UPDATE: changed balances and positions."""

    T: Ms  # transaction time
    a: UsdmAccountData

    def to_events(self, venue: str, account: str) -> list[AccountUpdate | PositionUpdate]:
        """Return an AccountUpdate (wallet balances as cash) and a PositionUpdate per position."""
        balances = tuple(Balance(ccy=b.a, cash=b.wb) for b in self.a.B)
        at = utc_from_ms(self.T)
        events: list[AccountUpdate | PositionUpdate] = [
            AccountUpdate(venue=venue, account=account, balances=balances, at=at)
        ]
        events.extend(p.to_event(venue, account, self.T) for p in self.a.P)
        return events


class MarginCallPosition(WireModel):
    """One position of a MARGIN_CALL."""

    s: str
    ps: PositionSide
    pa: Amount
    mp: OptPrice = None  # mark price
    up: Amount | None = None  # unrealized PnL


class MarginCall(WireModel):
    """A MARGIN_CALL: positions whose margin ran low."""

    E: Ms
    p: tuple[MarginCallPosition, ...] = ()

    def to_events(self, venue: str, account: str) -> list[PositionUpdate]:
        """Return a PositionUpdate(warning=True) per position."""
        return [
            PositionUpdate(
                venue=venue,
                account=account,
                market=p.s,
                side=p.ps,
                size=p.pa,
                mark_price=p.mp,
                unrealized_pnl=p.up,
                warning=True,
                at=utc_from_ms(self.E),
            )
            for p in self.p
        ]


class AlgoOrder(WireModel):
    """The `o` object of an ALGO_UPDATE (conditional orders since the 2025 algo migration)."""

    caid: str = ""  # client algo id
    aid: Id  # algo id
    o: BinanceType  # order type
    f: str = "GTC"  # time in force
    s: str
    S: BinanceSide
    q: Size = Decimal(0)
    X: Annotated[str, BeforeValidator(words.algo_status)]  # algo status
    ap: OptPrice = None  # average fill price
    aq: Size = Decimal(0)  # executed quantity
    p: OptPrice = None  # order price
    rm: str = ""  # failure reason


class AlgoUpdate(WireModel):
    """An ALGO_UPDATE: a conditional order's state."""

    T: Ms
    o: AlgoOrder

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the algo order's state as an OrderUpdate(algo=True, order_id=algo id)."""
        o = self.o
        return OrderUpdate(
            venue=venue,
            account=account,
            market=o.s,
            order_id=str(o.aid),
            client_order_id=o.caid,
            side=o.S,
            order_type=words.refined(o.o, o.f),
            state=words.algo_state(o.X, o.q, o.aq),
            size=o.q,
            filled=o.aq,
            price=o.p,
            avg_price=o.ap,
            algo=True,
            message=o.rm,
            at=utc_from_ms(self.T),
        )


class TriggerRejected(WireModel):
    """The `or` object of a CONDITIONAL_ORDER_TRIGGER_REJECT."""

    s: str
    i: Id  # order id
    r: str  # reason


class ConditionalOrderTriggerReject(WireModel):
    """A CONDITIONAL_ORDER_TRIGGER_REJECT: a triggered conditional order was refused.

    It names no side, type or size, so it makes no OrderUpdate; the venue logs it.
    """

    T: Ms
    rejected: TriggerRejected = Field(alias="or")  # "or": a Python keyword
