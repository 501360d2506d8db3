"""OKX v5 REST records (order details, fill rows, account config) as OKX's documented samples
in tests/data/okx/ show them, key for key."""

from __future__ import annotations

from typing import Any

from simulator.config import SimConfig
from simulator.money import fmt, fmt_amount
from simulator.okx.frames import cancel_source, exec_type
from simulator.okx.orders import inst_type, tag, td_mode
from simulator.orders import Fill, OrderView

Record = dict[str, Any]


def order_details(o: OrderView) -> Record:
    """Builds one item of GET /api/v5/trade/order and /orders-pending."""
    req, last, avg, quote = o.request, o.last_fill, o.avg_price, o.instrument.quote
    kind = inst_type(o.instrument, req.margin_mode)
    spot_market = kind == "SPOT" and req.ord_type == "market"
    return {
        "accFillSz": fmt_amount(o.filled),
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoClOrdId": "",
        "attachAlgoOrds": [],
        "avgPx": "" if avg is None else fmt_amount(avg),
        "cTime": str(o.c_time),
        "cancelSource": cancel_source(o),
        "cancelSourceReason": "",
        "category": "normal",
        "ccy": "",
        "clOrdId": req.client_id,
        "fee": fmt_amount(o.fee),
        "feeCcy": quote,
        "fillPx": fmt(last.price) if last else "",
        "fillSz": fmt_amount(last.size) if last else "0",
        "fillTime": str(last.time) if last else "",
        "instId": req.market,
        "instType": kind,
        "isTpLimit": "false",
        "lever": "" if o.leverage is None else fmt(o.leverage),
        "linkedAlgoOrd": {"algoId": ""},
        "ordId": o.order_id,
        "ordType": req.ord_type,
        "pnl": fmt_amount(o.pnl),
        "posSide": "net",
        "px": fmt(req.price) if req.price is not None else "",
        "pxType": "",
        "pxUsd": "",
        "pxVol": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": quote,
        "reduceOnly": "true" if req.reduce_only else "false",
        "side": req.side,
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": o.state,
        "stpId": "",
        "stpMode": "cancel_maker",
        "sz": fmt(req.size),
        "tag": tag(req),
        "tdMode": td_mode(req),
        # The simulator sizes spot market orders in the base currency.
        "tgtCcy": "base_ccy" if spot_market else "",
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tradeId": last.trade_id if last else "",
        "tradeQuoteCcy": quote,
        "uTime": str(o.u_time),
    }


def sub_type(o: OrderView, f: Fill) -> str:
    """Returns OKX's fill subType: 1/2 buy/sell; swaps 3/4 open long/short, 5/6 close them."""
    buy = o.request.side == "buy"
    if o.instrument.kind != "perpetual":
        return "1" if buy else "2"
    if buy:
        return "6" if f.reduces else "3"
    return "5" if f.reduces else "4"


def fill_row(o: OrderView, f: Fill) -> Record:
    """Builds one item of GET /api/v5/trade/fills and /fills-history."""
    req = o.request
    swap = o.instrument.kind == "perpetual"
    return {
        "side": req.side,
        "fillSz": fmt_amount(f.size),
        "fillPx": fmt(f.price),
        "fillPxVol": "",
        "fillFwdPx": "",
        "fee": fmt_amount(f.fee),
        "fillPnl": fmt_amount(f.pnl),
        "ordId": o.order_id,
        "feeRate": "" if swap else fmt_amount(-f.fee_rate),  # SPOT and MARGIN only
        "instType": inst_type(o.instrument, req.margin_mode),
        "fillPxUsd": "",
        "instId": req.market,
        "clOrdId": req.client_id,
        "posSide": "net",
        "billId": f.seq,
        "subType": sub_type(o, f),
        "fillMarkVol": "",
        "tag": tag(req),
        "fillTime": str(f.time),
        "execType": exec_type(f.maker),
        "fillIdxPx": "",
        "tradeId": f.trade_id,
        "fillMarkPx": fmt(f.price) if swap else "",  # FUTURES, SWAP, OPTION only
        "feeCcy": f.fee_ccy,
        "ts": str(f.time),
        "tradeQuoteCcy": o.instrument.quote,
    }


def account_config(config: SimConfig) -> Record:
    """Builds the one item of GET /api/v5/account/config (futures mode, net positions)."""
    return {
        "acctLv": "2",
        "acctStpMode": "cancel_maker",
        "autoLoan": False,
        "ctIsoMode": "automatic",
        "enableSpotBorrow": False,
        "greeksType": "PA",
        "feeType": "0",
        "ip": "",
        "type": "0",
        "kycLv": "3",
        "label": "klaxon simulator",
        "level": "Lv1",
        "levelTmp": "",
        "liquidationGear": "-1",
        "mainUid": config.uid,
        "mgnIsoMode": "automatic",
        "opAuth": "0",
        "perm": config.perm,
        "posMode": "net_mode",
        "roleType": "0",
        "spotBorrowAutoRepay": False,
        "spotOffsetType": "",
        "spotRoleType": "0",
        "spotTraderInsts": [],
        "stgyType": "0",
        "traderInsts": [],
        "uid": config.uid,
        "settleCcy": "USDC",
        "settleCcyList": ["USD", "USDC", "USDG"],
    }
