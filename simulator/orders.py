"""Orders of the simulated account: the request, its executions, the order and views of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal

from simulator.account import MarginMode
from simulator.market import Instrument

Side = Literal["buy", "sell"]
OrdType = Literal["market", "limit"]
# live: resting, nothing filled yet; the last two are final.
State = Literal["live", "partially_filled", "filled", "canceled"]
# user: asked for; reduce_only: what was left of a reduce-only order once the position was gone.
CancelReason = Literal["", "user", "reduce_only"]
PENDING: frozenset[State] = frozenset({"live", "partially_filled"})


@dataclass(frozen=True)
class OrderRequest:
    """A validated place-order request; `extra` holds venue fields the engine keeps unread."""

    market: str
    side: Side
    ord_type: OrdType
    size: Decimal
    price: Decimal | None  # None for market orders
    client_id: str = ""
    margin_mode: MarginMode = "cash"
    reduce_only: bool = False
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Fill:
    """One execution of an order."""

    trade_id: str
    price: Decimal
    size: Decimal
    fee: Decimal  # negative = paid
    fee_ccy: str
    fee_rate: Decimal  # the rate charged, > 0
    time: int  # ms
    maker: bool
    pnl: Decimal  # realized by this fill
    seq: str  # increasing over the account's fills: the fills endpoints' cursor
    reduces: bool  # it reduced a position held in the other direction


@dataclass(frozen=True)
class OrderView:
    """An order at one moment, with the fill that moved it there when there was one."""

    order_id: str
    request: OrderRequest
    instrument: Instrument
    leverage: Decimal | None  # None for cash orders
    c_time: int
    u_time: int
    state: State
    filled: Decimal
    avg_price: Decimal | None  # None before the first fill
    fee: Decimal  # accumulated, negative = paid
    pnl: Decimal
    cancel_reason: CancelReason
    fill: Fill | None  # the fill this update reports; None for other updates and lookups
    last_fill: Fill | None  # the order's latest fill, if any
    last_price: Decimal  # the market's last price when the view was taken


@dataclass
class Order:
    """One order of the account and every execution of it."""

    order_id: str
    request: OrderRequest
    instrument: Instrument
    c_time: int
    u_time: int
    leverage: Decimal | None = None
    state: State = "live"
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of price * size over the fills, for the average
    fee: Decimal = Decimal(0)  # accumulated, negative = paid
    pnl: Decimal = Decimal(0)
    fills: list[Fill] = field(default_factory=list)  # oldest first
    cancel_reason: CancelReason = ""

    @property
    def pending(self) -> bool:
        """Tells whether the order still rests (live or partially filled)."""
        return self.state in PENDING

    @property
    def left(self) -> Decimal:
        """Returns the size not filled yet."""
        return self.request.size - self.filled

    def view(self, last_price: Decimal, fill: Fill | None = None) -> OrderView:
        """Returns the order as it stands; `fill` is the execution that moved it, if one did."""
        return OrderView(
            order_id=self.order_id, request=self.request, instrument=self.instrument,
            leverage=self.leverage, c_time=self.c_time, u_time=self.u_time, state=self.state,
            filled=self.filled, avg_price=self.notional / self.filled if self.filled else None,
            fee=self.fee, pnl=self.pnl, cancel_reason=self.cancel_reason, fill=fill,
            last_fill=self.fills[-1] if self.fills else None, last_price=last_price,
        )  # fmt: skip
