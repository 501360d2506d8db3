"""OKX v5 push payloads as OKX names them, each converting itself to canonical events.

Field names are OKX's own (https://www.okx.com/docs-v5/en/). OKX sends every number as a string
and "" for "absent": optional Decimals map "" to None; prices are Decimal from the exact string.
The tickers and mark-price models are the reference the lean hot path is checked against.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator

from watcher.events import (
    AccountUpdate,
    Balance,
    Fill,
    OrderState,
    OrderType,
    OrderUpdate,
    PositionUpdate,
    Side,
    Ticker,
    utc_from_ms,
)
from watcher.sanity import exchange_ms


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _blank_or_market_is_none(value: object) -> object:
    # Algo order prices use "-1" for "market price on trigger": there is no limit price then.
    return None if value in ("", "-1") else value


OptDecimal = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]


def _ms_or_blank(value: object) -> int | None:
    return None if value == "" else exchange_ms(value)


# Exchange times: epoch ms within watcher.sanity's window, or the frame is malformed.
Ms = Annotated[int, BeforeValidator(exchange_ms)]
OptMs = Annotated[int | None, BeforeValidator(_ms_or_blank)]


def liquidity(exec_type: str) -> Literal["maker", "taker", ""]:
    """Return the canonical liquidity of OKX's execType."""
    # execType: T = taker, M = maker; "" when the update carries no execution.
    return "taker" if exec_type == "T" else "maker" if exec_type == "M" else ""


class WireModel(BaseModel):
    """Base of OKX payload models: immutable, extra fields ignored (OKX adds fields often)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class OkxTicker(WireModel):
    """One item of a `tickers` push."""

    instId: str
    last: Decimal
    bidPx: OptDecimal = None
    askPx: OptDecimal = None
    ts: Ms

    def to_event(self, venue: str) -> Ticker:
        """Return the last-price Ticker."""
        return Ticker(
            venue=venue,
            market=self.instId,
            source="last",
            price=self.last,
            bid=self.bidPx,
            ask=self.askPx,
            at=utc_from_ms(self.ts),
        )


class OkxMarkPrice(WireModel):
    """One item of a `mark-price` push."""

    instId: str
    markPx: Decimal
    ts: Ms

    def to_event(self, venue: str) -> Ticker:
        """Return the mark-price Ticker."""
        at = utc_from_ms(self.ts)
        return Ticker(venue=venue, market=self.instId, source="mark", price=self.markPx, at=at)


class OkxIndexTicker(WireModel):
    """One item of an `index-tickers` push: the index (BTC-USDT) and its price."""

    instId: str
    idxPx: Decimal
    ts: int

    def to_event(self, venue: str) -> Ticker:
        """Return the index-price Ticker, named by the index."""
        at = utc_from_ms(self.ts)
        return Ticker(venue=venue, market=self.instId, source="index", price=self.idxPx, at=at)


class OkxOrder(WireModel):
    """One item of an `orders` push; a non-empty tradeId with fillSz > 0 also carries a fill."""

    instId: str
    ordId: str
    clOrdId: str = ""
    side: Side
    ordType: OrderType  # OKX's words are the canonical ones: an unknown word is refused
    state: OrderState
    sz: Decimal
    px: OptDecimal = None
    avgPx: OptDecimal = None
    accFillSz: OptDecimal = None
    code: str = ""
    msg: str = ""
    uTime: Ms
    tradeId: str = ""
    fillPx: OptDecimal = None
    fillSz: OptDecimal = None
    fillFee: OptDecimal = None
    fillFeeCcy: str = ""
    execType: str = ""
    fillTime: OptMs = None

    @model_validator(mode="after")
    def _fill_is_complete(self) -> Self:
        if self.has_fill and (self.fillPx is None or self.fillTime is None):
            raise ValueError("a fill (tradeId, fillSz > 0) needs fillPx and fillTime")
        return self

    @property
    def has_fill(self) -> bool:
        """Whether this update reports a new execution."""
        return bool(self.tradeId) and self.fillSz is not None and self.fillSz > 0

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the order's state as an OrderUpdate."""
        return OrderUpdate(
            venue=venue,
            account=account,
            market=self.instId,
            order_id=self.ordId,
            client_order_id=self.clOrdId,
            side=self.side,
            order_type=self.ordType,
            state=self.state,
            size=self.sz,
            filled=self.accFillSz if self.accFillSz is not None else Decimal(0),
            price=self.px,
            avg_price=self.avgPx,
            # OKX reports "0" for "no error"; the canonical event uses "" for that.
            code="" if self.code == "0" else self.code,
            message=self.msg,
            at=utc_from_ms(self.uTime),
        )

    def to_fill(self, venue: str, account: str) -> Fill | None:
        """Return the execution this update reports, or None when it reports none."""
        if not self.has_fill or self.fillPx is None or self.fillSz is None:
            return None
        return Fill(
            venue=venue,
            account=account,
            market=self.instId,
            side=self.side,
            price=self.fillPx,
            size=self.fillSz,
            fee=self.fillFee,  # OKX sign: negative is a fee charged, positive a rebate
            fee_ccy=self.fillFeeCcy,
            trade_id=self.tradeId,
            order_id=self.ordId,
            client_order_id=self.clOrdId,
            liquidity=liquidity(self.execType),
            at=utc_from_ms(self.fillTime or self.uTime),
        )


class OkxFill(WireModel):
    """One item of a `fills` push (VIP-only channel; taker fills aggregated per price)."""

    instId: str
    side: Side
    fillPx: Decimal
    fillSz: Decimal
    ordId: str
    clOrdId: str = ""
    tradeId: str
    execType: str = ""
    ts: Ms

    def to_event(self, venue: str, account: str) -> Fill:
        """Return the Fill (this channel carries no fee)."""
        return Fill(
            venue=venue,
            account=account,
            market=self.instId,
            side=self.side,
            price=self.fillPx,
            size=self.fillSz,
            trade_id=self.tradeId,
            order_id=self.ordId,
            # The fills channel sends "0" when the clOrdId is not a positive int64.
            client_order_id="" if self.clOrdId == "0" else self.clOrdId,
            liquidity=liquidity(self.execType),
            at=utc_from_ms(self.ts),
        )


class OkxPosition(WireModel):
    """One item of a `positions` or `liquidation-warning` push, or of balance_and_position."""

    instId: str
    posSide: str
    pos: Decimal
    avgPx: OptDecimal = None
    markPx: OptDecimal = None
    liqPx: OptDecimal = None
    mgnRatio: OptDecimal = None
    upl: OptDecimal = None
    notionalUsd: OptDecimal = None
    cTime: OptMs = None
    uTime: Ms

    def to_event(self, venue: str, account: str, warning: bool = False) -> PositionUpdate:
        """Return the PositionUpdate (`warning` for the liquidation-warning channel)."""
        return PositionUpdate(
            venue=venue,
            account=account,
            market=self.instId,
            side=self.posSide,
            size=self.pos,
            avg_price=self.avgPx,
            mark_price=self.markPx,
            liquidation_price=self.liqPx,
            margin_ratio=self.mgnRatio,
            unrealized_pnl=self.upl,
            notional=self.notionalUsd,
            opened_at=utc_from_ms(self.cTime) if self.cTime else None,
            warning=warning,
            at=utc_from_ms(self.uTime),
        )


class OkxAccountDetail(WireModel):
    """One currency of an `account` push."""

    ccy: str
    eq: OptDecimal = None
    availBal: OptDecimal = None
    cashBal: OptDecimal = None

    def to_balance(self) -> Balance:
        """Return the canonical Balance."""
        return Balance(ccy=self.ccy, equity=self.eq, available=self.availBal, cash=self.cashBal)


class OkxAccount(WireModel):
    """One item of an `account` push."""

    totalEq: OptDecimal = None
    mgnRatio: OptDecimal = None
    uTime: Ms
    details: tuple[OkxAccountDetail, ...] = ()

    def to_event(self, venue: str, account: str) -> AccountUpdate:
        """Return the AccountUpdate with every currency's balance."""
        return AccountUpdate(
            venue=venue,
            account=account,
            total_equity=self.totalEq,
            margin_ratio=self.mgnRatio,
            balances=tuple(d.to_balance() for d in self.details),
            at=utc_from_ms(self.uTime),
        )


class OkxBalData(WireModel):
    """One currency of a `balance_and_position` push (cash balance only)."""

    ccy: str
    cashBal: OptDecimal = None


class OkxBalanceAndPosition(WireModel):
    """One item of a `balance_and_position` push: the balances and positions an event changed."""

    pTime: Ms
    eventType: str = ""
    balData: tuple[OkxBalData, ...] = ()
    posData: tuple[OkxPosition, ...] = ()

    def to_event(self, venue: str, account: str) -> AccountUpdate:
        """Return the changed balances as an AccountUpdate (no account-level totals)."""
        return AccountUpdate(
            venue=venue,
            account=account,
            balances=tuple(Balance(ccy=b.ccy, cash=b.cashBal) for b in self.balData),
            at=utc_from_ms(self.pTime),
        )

    def positions(self, venue: str, account: str) -> list[PositionUpdate]:
        """Return one PositionUpdate per changed position."""
        return [p.to_event(venue, account) for p in self.posData]


class OkxAlgoOrder(WireModel):
    """One item of an `orders-algo` or `algo-advance` push."""

    algoId: str
    algoClOrdId: str = ""
    instId: str
    side: Side
    ordType: OrderType  # OKX's words are the canonical ones: an unknown word is refused
    state: OrderState
    sz: OptDecimal = None  # "" when the order closes a fraction of a position (closeFraction)
    ordPx: Annotated[Decimal | None, BeforeValidator(_blank_or_market_is_none)] = None
    actualSz: OptDecimal = None
    actualPx: OptDecimal = None
    failCode: str = ""
    cTime: Ms
    uTime: OptMs = None
    pTime: OptMs = None

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the algo order's state as an OrderUpdate(algo=True, order_id=algoId)."""
        filled = self.actualSz if self.actualSz is not None else Decimal(0)
        return OrderUpdate(
            venue=venue,
            account=account,
            market=self.instId,
            order_id=self.algoId,
            client_order_id=self.algoClOrdId,
            side=self.side,
            order_type=self.ordType,
            state=self.state,
            size=self.sz if self.sz is not None else Decimal(0),
            filled=filled,
            price=self.ordPx,
            avg_price=self.actualPx if filled > 0 else None,
            algo=True,
            code=self.failCode,
            at=utc_from_ms(self.uTime or self.pTime or self.cTime),
        )
