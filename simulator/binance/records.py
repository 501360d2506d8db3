"""Binance REST records from the engine's, key for key as the documented replies in
tests/data/binance/ show them: orders (new, cancel, query; spot and USD-M), trades, the API key's
restrictions."""

from __future__ import annotations

from typing import Any

from simulator.binance.words import (
    commission,
    numeric_id,
    order_type,
    price,
    quote_filled,
    side,
    status,
)
from simulator.config import SimConfig
from simulator.market import now_ms
from simulator.money import fmt, fmt_amount
from simulator.orders import Fill, OrderView

Record = dict[str, Any]


def _spot_state(o: OrderView) -> Record:
    """The keys every spot order record shares, in Binance's order."""
    return {
        "price": price(o),
        "origQty": fmt(o.request.size),
        "executedQty": fmt_amount(o.filled),
        "cummulativeQuoteQty": quote_filled(o),
        "status": status(o),
        "timeInForce": "GTC",
        "type": order_type(o),
        "side": side(o),
    }


def spot_order(o: OrderView) -> Record:
    """GET /api/v3/order."""
    return {
        "symbol": o.request.market,
        "orderId": numeric_id(o.order_id),
        "orderListId": -1,
        "clientOrderId": o.request.client_id,
        **_spot_state(o),
        "stopPrice": "0",
        "icebergQty": "0",
        "time": o.c_time,
        "updateTime": o.u_time,
        "isWorking": o.state in ("live", "partially_filled"),
        "origQuoteOrderQty": "0",
    }


def spot_new_order(o: OrderView, resp_type: str, fills: list[Fill]) -> Record:
    """POST /api/v3/order: ACK, RESULT (the order) or FULL (and its fills)."""
    record: Record = {
        "symbol": o.request.market,
        "orderId": numeric_id(o.order_id),
        "orderListId": -1,
        "clientOrderId": o.request.client_id,
        "transactTime": o.c_time,
    }
    if resp_type == "ACK":
        return record
    record.update(
        {
            **_spot_state(o),
            "workingTime": o.c_time,
            "selfTradePreventionMode": "NONE",
        }
    )
    if resp_type == "FULL":
        record["fills"] = [
            {
                "price": fmt(f.price),
                "qty": fmt_amount(f.size),
                "commission": commission(f),
                "commissionAsset": f.fee_ccy,
                "tradeId": numeric_id(f.trade_id),
            }
            for f in fills
        ]
    return record


def spot_cancel(o: OrderView, cancel_id: str) -> Record:
    """DELETE /api/v3/order: the order as canceled; clientOrderId is the cancel request's."""
    return {
        "symbol": o.request.market,
        "origClientOrderId": o.request.client_id,
        "orderId": numeric_id(o.order_id),
        "orderListId": -1,
        "clientOrderId": cancel_id,
        **_spot_state(o),
    }


def usdm_order(o: OrderView, query: bool = False) -> Record:
    """POST and DELETE /fapi/v1/order; with `query`, GET (which has `time`, not `cumQty`)."""
    record: Record = {
        "avgPrice": fmt_amount(o.avg_price) if o.avg_price is not None else "0",
        "clientOrderId": o.request.client_id,
    }
    if not query:
        record["cumQty"] = fmt_amount(o.filled)
    record.update(
        {
            "cumQuote": quote_filled(o),
            "executedQty": fmt_amount(o.filled),
            "orderId": numeric_id(o.order_id),
            "origQty": fmt(o.request.size),
            "origType": order_type(o),
            "price": price(o),
            "reduceOnly": o.request.reduce_only,
            "side": side(o),
            "positionSide": "BOTH",
            "status": status(o),
            "stopPrice": "0",
            "closePosition": False,
            "symbol": o.request.market,
        }
    )
    if query:
        record["time"] = o.c_time
    record.update(
        {
            "timeInForce": "GTC",
            "type": order_type(o),
            "updateTime": o.u_time,
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "priceMatch": "NONE",
            "selfTradePreventionMode": "NONE",
            "goodTillDate": 0,
        }
    )
    return record


def spot_trade(o: OrderView, f: Fill) -> Record:
    """One row of GET /api/v3/myTrades."""
    return {
        "symbol": o.request.market,
        "id": numeric_id(f.trade_id),
        "orderId": numeric_id(o.order_id),
        "orderListId": -1,
        "price": fmt(f.price),
        "qty": fmt_amount(f.size),
        "quoteQty": fmt_amount(f.price * f.size),
        "commission": commission(f),
        "commissionAsset": f.fee_ccy,
        "time": f.time,
        "isBuyer": o.request.side == "buy",
        "isMaker": f.maker,
        "isBestMatch": True,
    }


def usdm_trade(o: OrderView, f: Fill) -> Record:
    """One row of GET /fapi/v1/userTrades."""
    return {
        "buyer": o.request.side == "buy",
        "commission": commission(f),
        "commissionAsset": f.fee_ccy,
        "id": numeric_id(f.trade_id),
        "maker": f.maker,
        "orderId": numeric_id(o.order_id),
        "price": fmt(f.price),
        "qty": fmt_amount(f.size),
        "quoteQty": fmt_amount(f.price * f.size),
        "realizedPnl": fmt_amount(f.pnl),
        "side": side(o),
        "positionSide": "BOTH",
        "symbol": o.request.market,
        "time": f.time,
    }


def usdm_income(o: OrderView, f: Fill) -> list[Record]:
    """The rows of GET /fapi/v1/income one fill makes: its COMMISSION, and its REALIZED_PNL when
    it realized any."""
    flows = [("COMMISSION", f.fee)]  # both in the quote currency, as the fee is
    if f.pnl:
        flows.append(("REALIZED_PNL", f.pnl))
    return [
        {
            "symbol": o.request.market,
            "incomeType": kind,
            "income": fmt_amount(amount),
            "asset": f.fee_ccy,
            "info": kind,
            "time": f.time,
            "tranId": numeric_id(f.trade_id) * 2 + i,
            "tradeId": f.trade_id,
        }
        for i, (kind, amount) in enumerate(flows)
    ]


def api_restrictions(config: SimConfig) -> Record:
    """GET /sapi/v1/account/apiRestrictions: the key's permissions from SimConfig.perm (trade
    allows spot and futures alike)."""
    trade = config.permits("trade")
    return {
        "ipRestrict": False,
        "createTime": now_ms(),
        "enableWithdrawals": config.permits("withdraw"),
        "enableInternalTransfer": False,
        "permitsUniversalTransfer": False,
        "enableVanillaOptions": False,
        "enableReading": config.permits("read_only"),
        "enableFutures": trade,
        "enableMargin": False,
        "enableSpotAndMarginTrading": trade,
        "tradingAuthorityExpirationTime": 0,
    }
