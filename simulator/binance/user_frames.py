"""Binance user-data events from the engine's, key for key as the documented samples in
tests/data/binance/ show them: spot's executionReport and outboundAccountPosition, USD-M's
ORDER_TRADE_UPDATE, TRADE_LITE and ACCOUNT_UPDATE, and listenKeyExpired."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from simulator.account import Balance, PositionView
from simulator.binance.words import (
    commission,
    execution_type,
    numeric_id,
    order_type,
    price,
    quote_filled,
    side,
    status,
)
from simulator.market import now_ms
from simulator.money import fmt, fmt_amount
from simulator.orders import OrderView

Frame = dict[str, Any]


def _ids(o: OrderView, cancel_id: str) -> tuple[str, str]:
    """Returns (c, C): a cancel reports the cancel request's client id and the order's own."""
    if o.state == "canceled" and o.fill is None:
        return cancel_id, o.request.client_id
    return o.request.client_id, ""


def execution_report(o: OrderView, cancel_id: str = "") -> Frame:
    """Builds a spot executionReport; an update with a fill reports it (x TRADE)."""
    f, now = o.fill, now_ms()
    c, orig = _ids(o, cancel_id)
    return {
        "e": "executionReport",
        "E": now,
        "s": o.request.market,
        "c": c,
        "S": side(o),
        "o": order_type(o),
        "f": "GTC",
        "q": fmt(o.request.size),
        "p": price(o),
        "P": "0",
        "F": "0",
        "g": -1,
        "C": orig,
        "x": execution_type(o),
        "X": status(o),
        "r": "NONE",
        "i": numeric_id(o.order_id),
        "l": fmt_amount(f.size) if f else "0",
        "z": fmt_amount(o.filled),
        "L": fmt(f.price) if f else "0",
        "n": commission(f) if f else "0",
        "N": f.fee_ccy if f else None,
        "T": f.time if f else o.u_time,
        "t": numeric_id(f.trade_id) if f else -1,
        "I": 0,
        "w": o.state in ("live", "partially_filled"),
        "m": f.maker if f else False,
        "M": False,
        "O": o.c_time,
        "Z": quote_filled(o),
        "Y": fmt_amount(f.price * f.size) if f else "0",
        "Q": "0",
        "W": o.c_time,
        "V": "NONE",
    }


def order_trade_update(o: OrderView) -> Frame:
    """Builds a USD-M ORDER_TRADE_UPDATE; an update with a fill reports it (x TRADE)."""
    f, now = o.fill, now_ms()
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now,
        "T": f.time if f else o.u_time,
        "o": {
            "s": o.request.market,
            "c": o.request.client_id,
            "S": side(o),
            "o": order_type(o),
            "f": "GTC",
            "q": fmt(o.request.size),
            "p": price(o),
            "ap": fmt_amount(o.avg_price) if o.avg_price is not None else "0",
            "sp": "0",
            "x": execution_type(o),
            "X": status(o),
            "i": numeric_id(o.order_id),
            "l": fmt_amount(f.size) if f else "0",
            "z": fmt_amount(o.filled),
            "L": fmt(f.price) if f else "0",
            "N": f.fee_ccy if f else o.instrument.quote,
            "n": commission(f) if f else "0",
            "T": f.time if f else o.u_time,
            "t": numeric_id(f.trade_id) if f else 0,
            "b": "0",
            "a": "0",
            "m": f.maker if f else False,
            "R": o.request.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order_type(o),
            "ps": "BOTH",
            "cp": False,
            "rp": fmt_amount(f.pnl) if f else "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
            "er": "0",
        },
    }


def trade_lite(o: OrderView) -> Frame:
    """Builds the TRADE_LITE that precedes the ORDER_TRADE_UPDATE of a fill (no fee)."""
    f = o.fill
    if f is None:
        raise ValueError("TRADE_LITE reports a fill")
    return {
        "e": "TRADE_LITE",
        "E": now_ms(),
        "T": f.time,
        "s": o.request.market,
        "q": fmt(o.request.size),
        "p": price(o),
        "m": f.maker,
        "c": o.request.client_id,
        "S": side(o),
        "L": fmt(f.price),
        "l": fmt_amount(f.size),
        "t": numeric_id(f.trade_id),
        "i": numeric_id(o.order_id),
    }


def account_update(balance: Balance, positions: Sequence[PositionView]) -> Frame:
    """Builds a USD-M ACCOUNT_UPDATE (reason ORDER): the wallet and the positions a fill moved."""
    cash = fmt_amount(balance.cash)
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms(),
        "T": balance.ts,
        "a": {
            "m": "ORDER",
            "B": [{"a": balance.ccy, "wb": cash, "cw": cash, "bc": "0"}],
            "P": [
                {
                    "s": p.market,
                    "pa": fmt_amount(p.size),
                    "ep": fmt_amount(p.avg_price),
                    "bep": fmt_amount(p.avg_price),
                    "cr": fmt_amount(p.pnl),
                    "up": fmt_amount(p.upl),
                    "mt": p.margin_mode,
                    "iw": "0",
                    "ps": "BOTH",
                }
                for p in positions
            ],
        },
    }


def account_position(balance: Balance, holdings: Sequence[PositionView]) -> Frame:
    """Builds a spot outboundAccountPosition: the base assets a fill moved, then the quote."""
    assets = [
        {"a": p.instrument.base, "f": fmt_amount(max(p.size, Decimal(0))), "l": "0"}
        for p in holdings
    ]
    assets.append({"a": balance.ccy, "f": fmt_amount(balance.cash), "l": "0"})
    return {"e": "outboundAccountPosition", "E": now_ms(), "u": balance.ts, "B": assets}


def listen_key_expired(key: str) -> Frame:
    """Builds listenKeyExpired (its event time is a string, as documented)."""
    return {"e": "listenKeyExpired", "E": str(now_ms()), "listenKey": key}
