"""Bybit v5 payloads as Bybit names them, each converting itself to canonical events.

Field names are Bybit's own (https://bybit-exchange.github.io/docs/v5/websocket/private/order
and its siblings). Bybit sends numbers as strings and "" for "absent"; a price of "0" also means
"none" (a market order's price, the entry price of an empty position). A market is named
"<category>:<symbol>" (linear:BTCUSDT, spot:BTCUSDT): a symbol alone is ambiguous, since spot and
linear both list BTCUSDT. The tickers model is the reference the lean path is checked against.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

from watcher.errors import ConfigError
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
from watcher.venues.bybit import words

CATEGORIES = ("spot", "linear", "inverse", "option")
# Executions that charge or pay funding: not a trade, so not a Fill.
NOT_A_TRADE = frozenset({"Funding"})
_NO_ERROR = "EC_NoError"


def market_name(category: str, symbol: str) -> str:
    """Return klaxon's name of a Bybit market: the category, a colon, the symbol."""
    return f"{category}:{symbol}"


def split_market(market: str) -> tuple[str, str]:
    """Return (category, symbol) of a klaxon market name such as linear:BTCUSDT."""
    category, _, symbol = market.partition(":")
    if category not in CATEGORIES or not symbol:
        raise ConfigError(
            f"bybit: market {market!r} must be <category>:<symbol> with a category of "
            f"{', '.join(CATEGORIES)} (such as linear:BTCUSDT)"
        )
    return category, symbol


def _blank_is_none(value: object) -> object:
    return None if value == "" else value


def _blank_or_zero_is_none(value: object) -> object:
    if value == "" or (isinstance(value, str) and value.strip("0.") == "" and value[:1] == "0"):
        return None
    return value


OptDecimal = Annotated[Decimal | None, BeforeValidator(_blank_is_none)]
OptPrice = Annotated[Decimal | None, BeforeValidator(_blank_or_zero_is_none)]
BybitSide = Literal["Buy", "Sell"]


def _side(side: BybitSide) -> Side:
    return "buy" if side == "Buy" else "sell"


class WireModel(BaseModel):
    """Base of Bybit payload models: immutable, extra fields ignored (Bybit adds fields often)."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class BybitTicker(WireModel):
    """The merged state of a `tickers.{symbol}` topic (linear/inverse, option or spot names)."""

    symbol: str
    lastPrice: OptPrice = None
    bid1Price: OptPrice = None  # linear and inverse
    ask1Price: OptPrice = None
    bidPrice: OptPrice = None  # option
    askPrice: OptPrice = None
    markPrice: OptPrice = None
    indexPrice: OptPrice = None

    def to_events(self, venue: str, category: str, ts: int) -> list[Ticker]:
        """Return the last, mark and index Tickers the state holds (ts: the push's ms)."""
        market, at = market_name(category, self.symbol), utc_from_ms(ts)
        bid = self.bid1Price if self.bid1Price is not None else self.bidPrice
        ask = self.ask1Price if self.ask1Price is not None else self.askPrice
        events: list[Ticker] = []
        if self.lastPrice is not None:
            events.append(
                Ticker(venue=venue, market=market, price=self.lastPrice, bid=bid, ask=ask, at=at)
            )
        for source, price in (("mark", self.markPrice), ("index", self.indexPrice)):
            if price is not None:
                events.append(Ticker(venue=venue, market=market, source=source, price=price, at=at))
        return events


class BybitOrder(WireModel):
    """One item of an `order` push, or of GET /v5/order/realtime's list (category added)."""

    category: str
    symbol: str
    orderId: str
    orderLinkId: str = ""
    side: BybitSide
    orderType: Annotated[OrderType, BeforeValidator(words.order_type)]
    orderStatus: Annotated[OrderState, BeforeValidator(words.state)]
    timeInForce: str = "GTC"
    qty: Decimal
    price: OptPrice = None  # "0" for a market order
    avgPrice: OptPrice = None  # "" (UTA) or "0" (classic) before any fill
    cumExecQty: OptDecimal = None
    stopOrderType: Annotated[str, BeforeValidator(words.stop_order_type)] = ""
    rejectReason: str = ""
    updatedTime: int

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the order's state as an OrderUpdate (conditional and TP/SL orders: algo)."""
        return OrderUpdate(
            venue=venue,
            account=account,
            market=market_name(self.category, self.symbol),
            order_id=self.orderId,
            client_order_id=self.orderLinkId,
            side=_side(self.side),
            order_type=words.canonical_type(self.orderType, self.stopOrderType, self.timeInForce),
            state=self.orderStatus,
            size=self.qty,
            filled=self.cumExecQty if self.cumExecQty is not None else Decimal(0),
            price=self.price,
            avg_price=self.avgPrice,
            algo=self.stopOrderType not in words.PLAIN,
            code="" if self.rejectReason == _NO_ERROR else self.rejectReason,
            at=utc_from_ms(self.updatedTime),
        )


class BybitExecution(WireModel):
    """One item of an `execution` push, or of GET /v5/execution/list's list (category added)."""

    category: str
    symbol: str
    side: BybitSide
    orderId: str
    orderLinkId: str = ""
    execId: str
    execType: str
    execPrice: Decimal
    execQty: Decimal
    execFee: OptDecimal = None
    feeCurrency: str = ""
    isMaker: bool
    execTime: int

    @property
    def is_trade(self) -> bool:
        """Whether this execution filled an order (a funding payment does not)."""
        return self.execType not in NOT_A_TRADE

    def to_event(self, venue: str, account: str) -> Fill:
        """Return the Fill; the fee takes klaxon's sign (negative: charged, positive: rebate)."""
        fee = self.execFee
        if fee:  # Bybit's sign is the other way round: a positive execFee is charged
            fee = fee.copy_negate()
        return Fill(
            venue=venue,
            account=account,
            market=market_name(self.category, self.symbol),
            side=_side(self.side),
            price=self.execPrice,
            size=self.execQty,
            fee=fee,
            fee_ccy=self.feeCurrency,
            trade_id=self.execId,
            order_id=self.orderId,
            client_order_id=self.orderLinkId,
            liquidity="maker" if self.isMaker else "taker",
            at=utc_from_ms(self.execTime),
        )


class BybitPosition(WireModel):
    """One item of a `position` push."""

    category: str
    symbol: str
    side: Literal["Buy", "Sell", ""]  # "" while the position is empty
    size: Decimal
    positionIdx: int = 0  # 0 one-way; 1 and 2 the buy and sell legs of hedge mode
    entryPrice: OptPrice = None
    markPrice: OptPrice = None
    liqPrice: OptPrice = None  # "" when out of range or not provided (portfolio margin)
    unrealisedPnl: OptDecimal = None
    positionStatus: str = "Normal"  # Normal, Liq (being liquidated), Adl (auto-deleveraged)
    updatedTime: int

    def to_event(self, venue: str, account: str) -> PositionUpdate:
        """Return the PositionUpdate (side long/short, or net for an empty one-way position)."""
        if self.side:
            side = "long" if self.side == "Buy" else "short"
        else:
            side = {1: "long", 2: "short"}.get(self.positionIdx, "net")
        return PositionUpdate(
            venue=venue,
            account=account,
            market=market_name(self.category, self.symbol),
            side=side,
            size=self.size,
            avg_price=self.entryPrice,
            mark_price=self.markPrice,
            liquidation_price=self.liqPrice,
            unrealized_pnl=self.unrealisedPnl,
            warning=self.positionStatus != "Normal",
            at=utc_from_ms(self.updatedTime),
        )


class BybitCoin(WireModel):
    """One coin of a `wallet` push."""

    coin: str
    equity: OptDecimal = None
    walletBalance: OptDecimal = None
    availableToWithdraw: OptDecimal = None

    def to_balance(self) -> Balance:
        """Return the canonical Balance."""
        return Balance(
            ccy=self.coin,
            equity=self.equity,
            available=self.availableToWithdraw,
            cash=self.walletBalance,
        )


class BybitWallet(WireModel):
    """One item (one account type) of a `wallet` push."""

    totalEquity: OptDecimal = None
    totalMarginBalance: OptDecimal = None
    totalMaintenanceMargin: OptDecimal = None
    coin: tuple[BybitCoin, ...] = ()

    def to_event(self, venue: str, account: str, at: datetime) -> AccountUpdate:
        """Return the AccountUpdate; margin_ratio is margin balance over maintenance margin.

        That is OKX's sense of the ratio (liquidation near 1, safer above); Bybit's own
        accountMMRate is its inverse. None while no maintenance margin is used.
        """
        margin, maintenance = self.totalMarginBalance, self.totalMaintenanceMargin
        ratio = margin / maintenance if margin is not None and maintenance else None
        return AccountUpdate(
            venue=venue,
            account=account,
            total_equity=self.totalEquity,
            margin_ratio=ratio,
            balances=tuple(c.to_balance() for c in self.coin),
            at=at,
        )
