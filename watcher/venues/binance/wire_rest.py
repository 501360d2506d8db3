"""Binance REST replies (spot and USD-M) as Binance names them, each converting to events.

Spot: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/trading-endpoints
USD-M: https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api
"""

from __future__ import annotations

from decimal import Decimal
from typing import Self

from pydantic import TypeAdapter, model_validator

from watcher.events import Fill, OrderUpdate, utc_from_ms
from watcher.venues import Permission
from watcher.venues.binance import words
from watcher.venues.binance.wire import (
    Amount,
    BinanceSide,
    BinanceState,
    BinanceType,
    Id,
    Ms,
    OptPrice,
    Price,
    Size,
    WireModel,
    average,
    fee,
    liquidity,
)


class RestOrder(WireModel):
    """An order as GET /api/v3/order or GET /fapi/v1/order returns it."""

    symbol: str
    orderId: Id
    clientOrderId: str = ""
    side: BinanceSide
    type: BinanceType
    timeInForce: str = "GTC"
    status: BinanceState
    origQty: Size
    executedQty: Size = Decimal(0)
    price: OptPrice = None
    avgPrice: OptPrice = None  # USD-M
    cummulativeQuoteQty: Amount | None = None  # spot (sic); < 0 when Binance no longer knows
    updateTime: Ms

    def to_event(self, venue: str, account: str) -> OrderUpdate:
        """Return the order's state as an OrderUpdate."""
        avg = self.avgPrice
        if avg is None and self.cummulativeQuoteQty is not None:
            avg = average(self.cummulativeQuoteQty, self.executedQty)
        return OrderUpdate(
            venue=venue,
            account=account,
            market=self.symbol,
            order_id=str(self.orderId),
            client_order_id=self.clientOrderId,
            side=self.side,
            order_type=words.refined(self.type, self.timeInForce),
            state=self.status,
            size=self.origQty,
            filled=self.executedQty,
            price=self.price,
            avg_price=avg,
            at=utc_from_ms(self.updateTime),
        )


class RestTrade(WireModel):
    """One of the account's trades from GET /api/v3/myTrades or GET /fapi/v1/userTrades."""

    symbol: str
    id: int
    orderId: Id
    price: Price
    qty: Size
    commission: Amount | None = None
    commissionAsset: str = ""
    time: Ms
    isBuyer: bool | None = None  # spot
    isMaker: bool | None = None  # spot
    buyer: bool | None = None  # USD-M
    maker: bool | None = None  # USD-M

    @model_validator(mode="after")
    def _has_a_side(self) -> Self:
        if self.isBuyer is None and self.buyer is None:
            raise ValueError("a trade says neither isBuyer nor buyer")
        return self

    def to_event(self, venue: str, account: str) -> Fill:
        """Return the Fill (these lists carry no client order id)."""
        buyer = self.isBuyer if self.isBuyer is not None else self.buyer
        return Fill(
            venue=venue,
            account=account,
            market=self.symbol,
            side="buy" if buyer else "sell",
            price=self.price,
            size=self.qty,
            fee=fee(self.commission),
            fee_ccy=self.commissionAsset,
            trade_id=str(self.id),
            order_id=str(self.orderId),
            liquidity=liquidity(bool(self.isMaker or self.maker)),
            at=utc_from_ms(self.time),
        )


class ApiRestrictions(WireModel):
    """GET /sapi/v1/account/apiRestrictions: the key's permissions (spot's host serves it)."""

    ipRestrict: bool = False
    enableReading: bool = False
    enableWithdrawals: bool
    enableSpotAndMarginTrading: bool = False
    enableFutures: bool = False

    def permissions(self, trade_flag: str) -> frozenset[Permission]:
        """Return "read", "trade" (by `trade_flag`, the product's own flag) and "withdraw"."""
        granted: dict[Permission, bool] = {
            "read": self.enableReading,
            "trade": bool(getattr(self, trade_flag)),
            "withdraw": self.enableWithdrawals,
        }
        return frozenset(name for name, allowed in granted.items() if allowed)


class ListenKey(WireModel):
    """The reply of POST (and, on USD-M, PUT) of a user data stream's listen key."""

    listenKey: str


class SymbolRow(WireModel):
    """A row of a list that names its symbol: an open order, an income entry ("" when none)."""

    symbol: str = ""
    time: Ms = 0  # income entries: when (epoch ms); open orders: when placed


TRADES = TypeAdapter(list[RestTrade])
SYMBOL_ROWS = TypeAdapter(list[SymbolRow])
