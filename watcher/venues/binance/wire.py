"""Binance spot user-data payloads as Binance names them, each converting itself to events.

Field names are Binance's one-letter keys (https://developers.binance.com/docs/binance-spot-api-docs/
user-data-stream). Binance sends every decimal as a string: the types below accept only a plain
ASCII decimal string (no exponent, NaN or junk), and times only as epoch milliseconds that a
datetime can hold. A price of "0" means "none" (a market order's price, no fill yet).
Fees: Binance reports the commission charged as a positive amount; the canonical Fill's fee
follows OKX's sign (negative is a charge, positive a rebate), so it is negated here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from watcher.events import (
    AccountUpdate,
    Balance,
    Fill,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    utc_from_ms,
)
from watcher.venues.binance import words

# The largest epoch milliseconds a datetime holds (9999-12-31T23:59:59.999Z): a later "time"
# would make utc_from_ms raise downstream, so it is refused here.
MAX_MS = 253_402_300_799_999
_DECIMAL = re.compile(r"-?[0-9]{1,40}(?:\.[0-9]{1,40})?")


def _decimal_text(value: object) -> object:
    if type(value) is not str or not _DECIMAL.fullmatch(value):
        raise ValueError("not a decimal string")
    return value


def _price_or_none(value: object) -> object:
    if type(value) is not str or not _DECIMAL.fullmatch(value) or value.startswith("-"):
        raise ValueError("not a price")
    return None if Decimal(value) == 0 else value


def _ms(value: object) -> object:
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)  # listenKeyExpired sends its event time as a string
    if type(value) is not int or not 0 < value <= MAX_MS:
        raise ValueError("not an epoch-milliseconds time")
    return value


def _side(value: object) -> object:
    if value == "BUY":
        return "buy"
    if value == "SELL":
        return "sell"
    raise ValueError("side must be BUY or SELL")


def _id(value: object) -> object:
    if type(value) is not int:
        raise ValueError("not an integer id")
    return value


Amount = Annotated[Decimal, BeforeValidator(_decimal_text)]  # signed: balances, PnL, deltas
Size = Annotated[Decimal, BeforeValidator(_decimal_text), Field(ge=0)]
Price = Annotated[Decimal, BeforeValidator(_decimal_text), Field(gt=0)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal_text), Field(gt=0)]
OptPrice = Annotated[Decimal | None, BeforeValidator(_price_or_none)]
Ms = Annotated[int, BeforeValidator(_ms)]
BinanceSide = Annotated[Side, BeforeValidator(_side)]
# An order's status and type, mapped to the canonical words as they are read (words.py).
BinanceState = Annotated[OrderState, BeforeValidator(words.state)]
BinanceType = Annotated[OrderType, BeforeValidator(words.order_type)]
Id = Annotated[int, BeforeValidator(_id)]


def liquidity(maker: bool) -> Literal["maker", "taker"]:
    """Return the canonical liquidity of Binance's maker flag."""
    return "maker" if maker else "taker"


def fee(commission: Decimal | None) -> Decimal | None:
    """Return the canonical fee (negative is charged) of Binance's commission (positive)."""
    return None if commission is None else -commission


def average(quote: Decimal, base: Decimal) -> Decimal | None:
    """Return the average price quote/base, or None before any fill (or with no quote total)."""
    return quote / base if base > 0 and quote > 0 else None


class WireModel(BaseModel):
    """Base of Binance payload models: immutable, extra fields ignored (Binance adds fields)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Execution(WireModel):
    """The keys of an execution, the same in spot's executionReport and USD-M's order updates."""

    s: str  # symbol
    c: str = ""  # client order id
    S: BinanceSide
    i: Id  # order id
    l: Size  # last executed quantity  # noqa: E741 - Binance's own key
    L: OptPrice = None  # last executed price
    n: Amount | None = None  # commission of this execution (absent: none)
    N: str | None = None  # commission asset
    t: int = -1  # trade id
    m: bool = False  # maker side
    T: Ms  # transaction time

    @property
    def client_order_id(self) -> str:
        """Return the order's client id."""
        return self.c

    @property
    def executed(self) -> bool:
        """Whether this update reports an execution (a price and a quantity)."""
        return self.L is not None and self.l > 0

    def fill(self, venue: str, account: str) -> Fill:
        """Return the execution as a Fill (only when `executed`)."""
        if self.L is None:
            raise ValueError("an execution without a price")
        return Fill(
            venue=venue,
            account=account,
            market=self.s,
            side=self.S,
            price=self.L,
            size=self.l,
            fee=fee(self.n),
            fee_ccy=self.N or "",
            trade_id=str(self.t),
            order_id=str(self.i),
            client_order_id=self.client_order_id,
            liquidity=liquidity(self.m),
            at=utc_from_ms(self.T),
        )


class ExecutionReport(Execution):
    """A spot `executionReport`: the order's state; execution type TRADE also carries a fill."""

    c: str  # client order id (of the cancel request, for a cancel)
    C: str = ""  # original client order id: set when the order was canceled
    o: BinanceType  # order type
    f: str = "GTC"  # time in force
    q: Size  # order quantity
    p: OptPrice = None  # order price
    x: str  # execution type: NEW, CANCELED, REPLACED, REJECTED, TRADE, EXPIRED, ...
    X: BinanceState  # order status
    r: str = "NONE"  # reject reason
    z: Size  # cumulative filled quantity
    Z: Amount = Decimal(0)  # cumulative quote quantity

    @property
    def client_order_id(self) -> str:
        """Return the order's own client id (C names it when the update is a cancel)."""
        return self.C or self.c

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the order's state as an OrderUpdate."""
        return OrderUpdate(
            venue=venue,
            account=account,
            market=self.s,
            order_id=str(self.i),
            client_order_id=self.client_order_id,
            side=self.S,
            order_type=words.refined(self.o, self.f),
            state=self.X,
            size=self.q,
            filled=self.z,
            price=self.p,
            avg_price=average(self.Z, self.z),
            code="" if self.r == "NONE" else self.r,
            at=utc_from_ms(self.T),
        )

    def to_fill(self, venue: str, account: str) -> Fill | None:
        """Return the execution this report carries (x == TRADE), or None."""
        return self.fill(venue, account) if self.x == "TRADE" and self.executed else None


class SpotBalance(WireModel):
    """One asset of an `outboundAccountPosition`."""

    a: str  # asset
    f: Size  # free
    l: Size  # locked  # noqa: E741 - Binance's own key

    def to_balance(self) -> Balance:
        """Return the canonical Balance: available is free, cash is free + locked."""
        return Balance(ccy=self.a, available=self.f, cash=self.f + self.l)


class OutboundAccountPosition(WireModel):
    """A spot `outboundAccountPosition`: the balances of the assets an event may have changed."""

    u: Ms  # time of the account update
    B: tuple[SpotBalance, ...] = ()

    def to_event(self, venue: str, account: str) -> AccountUpdate:
        """Return the changed balances as an AccountUpdate."""
        balances = tuple(b.to_balance() for b in self.B)
        return AccountUpdate(
            venue=venue, account=account, balances=balances, at=utc_from_ms(self.u)
        )
