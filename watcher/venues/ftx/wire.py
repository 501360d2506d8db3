"""FTX (historical) frames: decoding with exact number texts, and fills/orders payload models.

FTX sends prices and sizes as JSON numbers (docs.ftx.com: ticker {"bid": 9760.5, ...,
"time": 1589505004.4237103}), not strings. orjson cannot hand back a number's text, so frames
are decoded with the standard library's json, parse_float and parse_int = str: every number
arrives as the exact text FTX sent, and Decimal(text) is exact. Python's json writes tiny
floats in exponent form (5e-06); number() turns those into plain decimal text.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from watcher.errors import UnknownMessage
from watcher.events import Fill, OrderState, OrderType, OrderUpdate

VENUE = "ftx"


def decode(raw: str | bytes, feed: str) -> dict[str, Any]:
    """Return a frame's object, every number as its exact text (UnknownMessage if not JSON)."""
    try:
        msg = json.loads(raw, parse_float=str, parse_int=str)
    except (ValueError, RecursionError):
        raise UnknownMessage(VENUE, f"{feed}: not JSON", raw) from None
    if type(msg) is not dict:
        raise UnknownMessage(VENUE, f"{feed}: not a JSON object", raw)
    return msg


def number(text: Any) -> str:
    """Return a number's text as plain decimal digits (exponent forms rewritten exactly)."""
    if type(text) is str and ("e" in text or "E" in text):
        try:
            return format(Decimal(text), "f")
        except InvalidOperation:
            raise ValueError("not a number") from None
    return text  # type: ignore[no-any-return]


def seconds_to_ms(text: Any) -> int:
    """Return FTX's float seconds ("1589505004.4237103") as epoch ms, truncated, no float."""
    if type(text) is not str:
        raise ValueError("time is not a number")
    whole, _, frac = number(text).partition(".")
    if not (whole.isascii() and whole.isdigit() and (not frac or frac.isdigit())):
        raise ValueError("time is not positive seconds")
    return int(whole) * 1000 + int((frac + "000")[:3])


class WireModel(BaseModel):
    """Base of FTX payload models: immutable, extra fields ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class FtxFill(WireModel):
    """The data of a `fills` update (docs.ftx.com "Fills" channel)."""

    id: str
    market: str
    side: Literal["buy", "sell"]
    price: Decimal
    size: Decimal
    orderId: str
    tradeId: str | None = None
    time: datetime
    fee: Decimal | None = None
    feeCurrency: str = ""
    liquidity: Literal["maker", "taker"] | None = None
    clientId: str | None = None

    def to_event(self, account: str) -> Fill:
        """Return the Fill; FTX's positive fee is charged, so it takes klaxon's negative sign."""
        return Fill(
            venue=VENUE,
            account=account,
            market=self.market,
            side=self.side,
            price=self.price,
            size=self.size,
            fee=self.fee.copy_negate() if self.fee else self.fee,
            fee_ccy=self.feeCurrency,
            trade_id=self.tradeId or self.id,
            order_id=self.orderId,
            client_order_id=self.clientId or "",
            liquidity=self.liquidity or "",
            at=self.time,
        )


class FtxOrder(WireModel):
    """The data of an `orders` update (docs.ftx.com "Orders" channel).

    FTX's status says less than the canonical state: new and open are live (partially_filled
    once something filled), closed is filled when the whole size filled, else canceled. Its
    type is limit or market; a limit's ioc and postOnly flags make it ioc or post_only, as
    OKX's ordType says. Any other status or type is refused (an UnknownMessage at the edge).
    """

    id: str
    clientId: str | None = None
    market: str
    type: Literal["limit", "market"]
    ioc: bool = False
    postOnly: bool = False
    side: Literal["buy", "sell"]
    price: Decimal | None = None
    size: Decimal
    status: Literal["new", "open", "closed"]
    filledSize: Decimal = Decimal(0)
    avgFillPrice: Decimal | None = None
    createdAt: datetime

    @property
    def state(self) -> OrderState:
        """Return the canonical state of FTX's status and filled size."""
        if self.status == "closed":
            return "filled" if self.size > 0 and self.filledSize >= self.size else "canceled"
        return "partially_filled" if self.filledSize > 0 else "live"

    @property
    def order_type(self) -> OrderType:
        """Return the canonical type: market, limit, ioc or post_only."""
        if self.type == "limit" and self.ioc:
            return "ioc"
        if self.type == "limit" and self.postOnly:
            return "post_only"
        return self.type

    def to_event(self, account: str, at: datetime) -> OrderUpdate:
        """Return the order's state in canonical words."""
        return OrderUpdate(
            venue=VENUE,
            account=account,
            market=self.market,
            order_id=self.id,
            client_order_id=self.clientId or "",
            side=self.side,
            order_type=self.order_type,
            state=self.state,
            size=self.size,
            filled=self.filledSize,
            price=self.price,
            avg_price=self.avgFillPrice,
            at=at,
        )
