"""Binance's words for the engine's: sides, order types and statuses, execution types."""

from __future__ import annotations

from simulator.money import fmt, fmt_amount
from simulator.orders import Fill, OrderView


def side(o: OrderView) -> str:
    """Returns BUY or SELL."""
    return o.request.side.upper()


def order_type(o: OrderView) -> str:
    """Returns LIMIT or MARKET."""
    return o.request.ord_type.upper()


def status(o: OrderView) -> str:
    """Returns the order status: NEW, PARTIALLY_FILLED, FILLED, CANCELED, or EXPIRED for what
    the engine canceled itself (a reduce-only order's rest once the position was gone)."""
    if o.state == "canceled":
        return "EXPIRED" if o.cancel_reason == "reduce_only" else "CANCELED"
    return {"live": "NEW", "partially_filled": "PARTIALLY_FILLED"}.get(o.state, "FILLED")


def execution_type(o: OrderView) -> str:
    """Returns why this update was sent: NEW, TRADE, CANCELED or EXPIRED."""
    if o.fill is not None:
        return "TRADE"
    if o.state == "canceled":
        return status(o)
    return "NEW"


def price(o: OrderView) -> str:
    """Returns the order's price, "0" for a market order (as Binance shows it)."""
    return fmt(o.request.price) if o.request.price is not None else "0"


def quote_filled(o: OrderView) -> str:
    """Returns the cumulative quote quantity (filled size times average price)."""
    return fmt_amount(o.filled * o.avg_price) if o.avg_price is not None else "0"


def commission(f: Fill) -> str:
    """Returns Binance's commission of a fill: positive when charged (the engine's fee is
    negative when charged)."""
    return fmt_amount(-f.fee)


def numeric_id(text: str) -> int:
    """Returns an engine id (decimal digits) as the integer Binance sends."""
    return int(text)
