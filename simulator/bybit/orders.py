"""Bybit's place-order bodies and its retCodes for every refusal.

Codes and texts are Bybit's (https://bybit-exchange.github.io/docs/v5/error): linear codes are
the 110xxx of "UMA & UTA & Futures", spot the 170xxx of "Spot Trade". An orderLinkId is "always
unique" (https://bybit-exchange.github.io/docs/v5/order/create-order): a second order with one
an earlier order used, even a filled one, is refused (110072; spot 170141).

Market orders fill at once, limit orders rest good-till-cancel: other time-in-force values,
conditional and TP/SL orders are not simulated and are refused naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from types import MappingProxyType

from simulator.account import MarginMode
from simulator.admission import Refusal
from simulator.bybit.names import CATEGORIES, SIDES, market_name
from simulator.market import Market
from simulator.money import parse_positive
from simulator.orders import OrderRequest

_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
# A spot market buy sized in the quote coin buys this many base-coin decimals at most.
BASE_STEP = Decimal("0.000001")
_NOT_SIMULATED = ("triggerPrice", "takeProfit", "stopLoss", "orderIv", "slippageTolerance")


@dataclass(frozen=True)
class Reject:
    """A refusal: Bybit's retCode and retMsg."""

    code: int
    msg: str


@dataclass(frozen=True)
class _Words:
    """How one category words a refusal."""

    duplicate: Reject
    unknown_order: Reject
    filled: Reject
    canceled: Reject
    insufficient: Reject


_LINEAR = _Words(
    duplicate=Reject(110072, "OrderLinkedID is duplicate"),
    unknown_order=Reject(110001, "Order does not exist"),
    filled=Reject(110008, "The order has been completed or cancelled."),
    canceled=Reject(110010, "The order has been cancelled"),
    insufficient=Reject(110007, "Available balance is insufficient"),
)
_SPOT = _Words(
    duplicate=Reject(170141, "Duplicate clientOrderId"),
    unknown_order=Reject(170213, "Order does not exist."),
    filled=Reject(170139, "Order has been filled."),
    canceled=Reject(170142, "Order has been canceled"),
    insufficient=Reject(170131, "Balance insufficient"),
)
REDUCE_ONLY = Reject(110017, "Reduce-only rule not satisfied")
PERMISSION = Reject(10005, "Permission denied, please check your API key permissions.")


def words(category: str) -> _Words:
    """Returns how a category words its refusals (spot's own, else the derivatives')."""
    return _SPOT if category == "spot" else _LINEAR


def param_error(name: str) -> Reject:
    """Returns the refusal of a missing or invalid parameter, naming it."""
    return Reject(10001, f"params error: {name} invalid")


def reject(refusal: Refusal, category: str, filled: bool = False) -> Reject:
    """Returns Bybit's retCode and retMsg for the engine's refusal of an order or a cancel."""
    said = words(category)
    if refusal in (Refusal.NO_POSITION, Refusal.SAME_DIRECTION, Refusal.REDUCE_TOO_LARGE):
        return REDUCE_ONLY
    if refusal is Refusal.DUPLICATE_CLIENT_ID:
        return said.duplicate
    if refusal in (Refusal.INSUFFICIENT_BALANCE, Refusal.INSUFFICIENT_MARGIN):
        return said.insufficient
    if refusal is Refusal.NOT_PENDING:
        return said.filled if filled else said.canceled
    return said.unknown_order


def _flag(value: object) -> bool | None:
    """Reads a Boolean param (pybit and ccxt send JSON booleans; strings are tolerated)."""
    if value in (None, False, "false"):
        return False
    if value in (True, "true"):
        return True
    return None


def _text(body: Mapping[str, object], name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


def market_of(body: Mapping[str, object], markets: Mapping[str, Market]) -> str | Reject:
    """Returns the market a body's category and symbol name, or the refusal."""
    category, symbol = body.get("category"), body.get("symbol")
    if not isinstance(category, str) or category not in CATEGORIES:
        return param_error("category")
    if not isinstance(symbol, str) or not symbol:
        return param_error("symbol")
    market = market_name(category, symbol)
    if market not in markets:
        return Reject(170121, "Invalid symbol.") if category == "spot" else param_error("symbol")
    return market


def parse_order(body: Mapping[str, object], markets: Mapping[str, Market]) -> OrderRequest | Reject:
    """Validates a POST /v5/order/create body the way Bybit does; other params are ignored."""
    market = market_of(body, markets)
    if isinstance(market, Reject):
        return market
    spot = market.startswith("spot:")
    side, kind = _text(body, "side") or "", _text(body, "orderType") or ""
    if side not in SIDES:
        return Reject(170117, "Invalid side.") if spot else param_error("side")
    if kind not in ("Market", "Limit"):
        return Reject(170116, "Invalid orderType.") if spot else param_error("orderType")
    qty_text = _text(body, "qty") or ""
    qty = parse_positive(qty_text)
    if qty is None:
        return param_error("qty")
    price = None
    if kind == "Limit":
        price = parse_positive(_text(body, "price") or "")
        if price is None:
            return param_error("price")
    tif = body.get("timeInForce") or "GTC"
    if kind == "Limit" and tif != "GTC":
        return Reject(10001, f"params error: timeInForce {tif} is not simulated (GTC only)")
    for name in _NOT_SIMULATED:
        if body.get(name) not in (None, "", "0"):
            return Reject(10001, f"params error: {name} is not simulated")
    link_id = body.get("orderLinkId") or ""
    if not isinstance(link_id, str) or (link_id and not _LINK_ID.match(link_id)):
        return param_error("orderLinkId")
    if body.get("positionIdx") not in (None, 0, "0"):
        return Reject(10001, "position idx not match position mode")
    reduce_only = _flag(body.get("reduceOnly"))
    if reduce_only is None:
        return param_error("reduceOnly")
    extra = {"qty": qty_text}
    size = qty
    margin: MarginMode = "cash" if spot else "cross"
    if spot:
        reduce_only = False  # reduceOnly is for linear, inverse and option
        leverage = body.get("isLeverage")
        if leverage not in (None, 0, 1, "0", "1"):
            return param_error("isLeverage")
        extra["isLeverage"] = str(leverage or 0)
        margin = "cross" if extra["isLeverage"] == "1" else "cash"
        if kind == "Market":
            sized = _spot_market_size(body, side, qty, markets[market])
            if isinstance(sized, Reject):
                return sized
            size, extra["marketUnit"] = sized
    return OrderRequest(
        market=market, side=SIDES[side], ord_type="market" if kind == "Market" else "limit",
        size=size, price=price, client_id=link_id, margin_mode=margin,
        reduce_only=bool(reduce_only), extra=MappingProxyType(extra),
    )  # fmt: skip


def _spot_market_size(
    body: Mapping[str, object], side: str, qty: Decimal, market: Market
) -> tuple[Decimal, str] | Reject:
    """Returns a spot market order's size in the base coin and its marketUnit: a buy is sized
    in the quote coin unless marketUnit says baseCoin, a sell in the base coin."""
    unit = body.get("marketUnit") or ("quoteCoin" if side == "Buy" else "baseCoin")
    if unit == "baseCoin":
        return qty, "baseCoin"
    if unit != "quoteCoin":
        return param_error("marketUnit")
    size = (qty / market.last).quantize(BASE_STEP, rounding=ROUND_DOWN)
    if not size:
        return Reject(170136, "Order quantity lower than the minimum.")
    return size, "quoteCoin"
