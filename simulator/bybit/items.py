"""Bybit v5 records of orders, executions, positions and the wallet, key for key as the documented
samples in tests/data/bybit/ show them: each WebSocket push item and its REST twin are built from
one set of values and differ only in the keys the sample has (e.g. a REST item has no category:
its result names it once).

Bybit's fee sign is the opposite of the engine's: a positive execFee is charged.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from simulator.account import Balance, PositionView
from simulator.bybit.names import bybit_side, cancel_type, category_of, order_status, split
from simulator.money import fmt, fmt_amount
from simulator.orders import Fill, OrderView

Item = dict[str, Any]

# Key order of the samples: docs/v5/websocket/private/order.mdx and docs/v5/order/open-order.mdx.
WS_ORDER_KEYS = (
    *("symbol", "orderId", "side", "orderType", "cancelType", "price", "qty", "orderIv"),
    *("timeInForce", "orderStatus", "orderLinkId", "lastPriceOnCreated", "reduceOnly"),
    *("leavesQty", "leavesValue", "cumExecQty", "cumExecValue", "avgPrice", "blockTradeId"),
    *("positionIdx", "cumExecFee", "closedPnl", "createdTime", "updatedTime", "rejectReason"),
    *("stopOrderType", "tpslMode", "triggerPrice", "takeProfit", "stopLoss", "tpTriggerBy"),
    *("slTriggerBy", "tpLimitPrice", "slLimitPrice", "triggerDirection", "triggerBy"),
    *("closeOnTrigger", "category", "placeType", "smpType", "smpGroup", "smpOrderId"),
    *("feeCurrency", "cumFeeDetail", "rpiTakerAccess", "rpiMatchedQty"),
)
REST_ORDER_KEYS = (
    *("orderId", "orderLinkId", "blockTradeId", "symbol", "price", "qty", "side", "isLeverage"),
    *("positionIdx", "orderStatus", "cancelType", "rejectReason", "avgPrice", "leavesQty"),
    *("leavesValue", "cumExecQty", "cumExecValue", "cumExecFee", "timeInForce", "orderType"),
    *("stopOrderType", "orderIv", "triggerPrice", "takeProfit", "stopLoss", "tpTriggerBy"),
    *("slTriggerBy", "triggerDirection", "triggerBy", "lastPriceOnCreated", "reduceOnly"),
    *("closeOnTrigger", "smpType", "smpGroup", "smpOrderId", "tpslMode", "tpLimitPrice"),
    *("slLimitPrice", "placeType", "createdTime", "updatedTime"),
)
# docs/v5/websocket/private/execution.mdx and docs/v5/order/execution.mdx.
WS_EXECUTION_KEYS = (
    *("category", "symbol", "closedSize", "execFee", "execId", "execPrice", "execQty"),
    *("execType", "execValue", "feeRate", "tradeIv", "markIv", "blockTradeId", "markPrice"),
    *("indexPrice", "underlyingPrice", "leavesQty", "orderId", "orderLinkId", "orderPrice"),
    *("orderQty", "orderType", "stopOrderType", "side", "execTime", "isLeverage", "isMaker"),
    *("seq", "marketUnit", "execPnl", "createType", "extraFees", "feeCurrency"),
)
REST_EXECUTION_KEYS = (
    *("symbol", "orderType", "underlyingPrice", "orderLinkId", "side", "indexPrice", "orderId"),
    *("stopOrderType", "leavesQty", "execTime", "feeCurrency", "isMaker", "execFee", "feeRate"),
    *("execId", "tradeIv", "blockTradeId", "markPrice", "execPrice", "markIv", "orderQty"),
    *("orderPrice", "execValue", "execType", "execQty", "closedSize", "extraFees", "seq"),
)


def _pick(values: Item, keys: Iterable[str]) -> Item:
    return {key: values[key] for key in keys}


def _charged(fee: Decimal) -> str:
    """Returns an engine fee (negative = paid) as Bybit's fee (positive = charged)."""
    return fmt_amount(-fee)


def _order_values(o: OrderView) -> Item:
    req = o.request
    category, symbol = split(req.market)
    left = o.request.size - o.filled if o.state in ("live", "partially_filled") else Decimal(0)
    price = req.price
    market = req.ord_type == "market"
    return {
        "symbol": symbol,
        "orderId": o.order_id,
        "side": bybit_side(req.side),
        "orderType": "Market" if market else "Limit",
        "cancelType": cancel_type(o),
        # A market order's price: Bybit's own protection price; the simulator has none.
        "price": "0" if price is None else fmt(price),
        "qty": req.extra.get("qty") or fmt(req.size),
        "orderIv": "",
        "timeInForce": "IOC" if market else req.extra.get("timeInForce", "GTC"),
        "orderStatus": order_status(o),
        "orderLinkId": req.client_id,
        "lastPriceOnCreated": "",
        "reduceOnly": req.reduce_only,
        "leavesQty": fmt_amount(left),
        "leavesValue": fmt_amount(left * (price or o.last_price)),
        "cumExecQty": fmt_amount(o.filled),
        "cumExecValue": fmt_amount(o.avg_price * o.filled if o.avg_price else Decimal(0)),
        "avgPrice": "" if o.avg_price is None else fmt_amount(o.avg_price),  # UTA: "" unfilled
        "blockTradeId": "",
        "positionIdx": 0,  # one-way mode
        "cumExecFee": _charged(o.fee),
        "closedPnl": fmt_amount(o.pnl),
        "createdTime": str(o.c_time),
        "updatedTime": str(o.u_time),
        "rejectReason": "EC_NoError",
        "stopOrderType": "",
        "tpslMode": "",
        "triggerPrice": "",
        "takeProfit": "",
        "stopLoss": "",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "closeOnTrigger": False,
        "category": category,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "feeCurrency": o.instrument.quote if category == "spot" else "",
        "cumFeeDetail": {o.instrument.quote: _charged(o.fee)} if o.fee else {},
        "rpiTakerAccess": False,
        "rpiMatchedQty": "0",
        "isLeverage": req.extra.get("isLeverage", "0") if category == "spot" else "",
    }


def ws_order(o: OrderView) -> Item:
    """Builds one item of an `order` push."""
    return _pick(_order_values(o), WS_ORDER_KEYS)


def rest_order(o: OrderView) -> Item:
    """Builds one item of GET /v5/order/realtime's list (the result names the category)."""
    values = _order_values(o)
    values["stopOrderType"] = "UNKNOWN"  # as the REST sample shows a plain order's
    return _pick(values, REST_ORDER_KEYS)


def _execution_values(o: OrderView, f: Fill) -> Item:
    req = o.request
    category, symbol = split(req.market)
    spot = category == "spot"
    return {
        "category": category,
        "symbol": symbol,
        "closedSize": "" if spot else fmt_amount(f.size if f.reduces else Decimal(0)),
        "execFee": _charged(f.fee),
        "execId": f.trade_id,
        "execPrice": fmt(f.price),
        "execQty": fmt_amount(f.size),
        "execType": "Trade",
        "execValue": fmt_amount(f.price * f.size),
        "feeRate": fmt_amount(f.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "markPrice": fmt(f.price),
        "indexPrice": "",
        "underlyingPrice": "",
        # The view pushed with a fill is the order just after it (a REST row sets its own).
        "leavesQty": fmt_amount(req.size - o.filled),
        "orderId": o.order_id,
        "orderLinkId": req.client_id,
        "orderPrice": fmt(req.price) if req.price is not None else fmt(f.price),
        "orderQty": req.extra.get("qty") or fmt(req.size),
        "orderType": "Market" if req.ord_type == "market" else "Limit",
        "stopOrderType": "UNKNOWN",
        "side": bybit_side(req.side),
        "execTime": str(f.time),
        "isLeverage": req.extra.get("isLeverage", "0") if spot else "0",
        "isMaker": f.maker,
        "seq": int(f.seq),
        "marketUnit": req.extra.get("marketUnit", ""),
        "execPnl": fmt_amount(f.pnl),
        "createType": "" if spot else "CreateByUser",
        "extraFees": [],
        "feeCurrency": f.fee_ccy,
    }


def ws_execution(o: OrderView, f: Fill) -> Item:
    """Builds one item of an `execution` push."""
    return _pick(_execution_values(o, f), WS_EXECUTION_KEYS)


def rest_execution(o: OrderView, f: Fill, leaves: Decimal) -> Item:
    """Builds one item of GET /v5/execution/list's list (`leaves`: the order's qty left after
    this fill; the result names the category)."""
    values = _execution_values(o, f)
    values["leavesQty"] = fmt_amount(leaves)
    values["extraFees"] = ""  # the REST sample's
    return _pick(values, REST_EXECUTION_KEYS)


def position(p: PositionView, seq: int) -> Item:
    """Builds one item of a `position` push (one-way mode: positionIdx 0, size unsigned)."""
    size = abs(p.size)
    value = size * p.avg_price
    margin = value / p.leverage if p.leverage else value
    realised = fmt_amount(p.pnl + p.fee)
    _, symbol = split(p.market)
    side = "" if not p.size else ("Buy" if p.size > 0 else "Sell")
    return {
        "positionIdx": 0,
        "tradeMode": 1 if p.margin_mode == "isolated" else 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": symbol,
        "side": side,
        "size": fmt_amount(size),
        "entryPrice": fmt_amount(p.avg_price) if p.size else "0",
        "leverage": fmt(p.leverage),
        "breakEvenPrice": fmt_amount(p.avg_price) if p.size else "0",
        "positionValue": fmt_amount(value),
        "positionBalance": fmt_amount(margin),
        "markPrice": fmt(p.mark),
        "positionIM": fmt_amount(margin),
        "positionIMByMp": fmt_amount(margin),
        "positionMM": "0",
        "positionMMByMp": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": fmt_amount(p.upl),
        "curRealisedPnl": realised,
        "cumRealisedPnl": realised,
        "sessionAvgPrice": "0",
        "createdTime": str(p.c_time),
        "updatedTime": str(p.u_time),
        "tpslMode": "Full",
        "liqPrice": "",
        "bustPrice": "",
        "category": category_of(p.instrument),
        "positionStatus": "Normal",
        "adlRankIndicator": 2 if p.size else 0,
        "autoAddMargin": 0,
        "leverageSysUpdatedTime": "",
        "mmrSysUpdatedTime": "",
        "seq": seq,
        "isReduceOnly": False,
    }


def wallet(b: Balance) -> Item:
    """Builds the `wallet` item of the unified account: its one coin, the settlement currency
    (the simulator keeps no margin figures: the rates and margins are 0)."""
    equity, cash, upl = fmt_amount(b.equity), fmt_amount(b.cash), fmt_amount(b.upl)
    coin = {
        "coin": b.ccy, "equity": equity, "usdValue": equity, "walletBalance": cash,
        "availableToWithdraw": cash, "availableToBorrow": "", "borrowAmount": "0",
        "accruedInterest": "0", "totalOrderIM": "0", "totalPositionIM": "0",
        "totalPositionMM": "0", "unrealisedPnl": upl, "cumRealisedPnl": "0", "bonus": "0",
        "collateralSwitch": True, "marginCollateral": True, "locked": "0",
        "spotHedgingQty": "0", "spotBorrow": "0",
    }  # fmt: skip
    return {
        "accountIMRate": "0", "accountIMRateByMp": "0", "accountMMRate": "0",
        "accountMMRateByMp": "0", "totalEquity": equity, "totalWalletBalance": cash,
        "totalMarginBalance": equity, "totalAvailableBalance": equity, "totalPerpUPL": upl,
        "totalInitialMargin": "0", "totalInitialMarginByMp": "0", "totalMaintenanceMargin": "0",
        "totalMaintenanceMarginByMp": "0", "coin": [coin], "accountLTV": "0",
        "accountType": "UNIFIED",
    }  # fmt: skip
