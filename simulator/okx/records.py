"""OKX v5 REST records (order details, fill rows, account config) as OKX's documented samples
in tests/data/okx/ show them, key for key."""

from __future__ import annotations

from typing import Any

from simulator.config import SimConfig
from simulator.engine import MAKER_FEE, TAKER_FEE
from simulator.market import quote_ccy
from simulator.money import fmt, fmt_amount
from simulator.orders import Fill, Order

Record = dict[str, Any]


def order_details(o: Order) -> Record:
    """Builds one item of GET /api/v5/trade/order and /orders-pending."""
    req = o.request
    last = o.fills[-1] if o.fills else None
    avg = o.avg_px
    spot_market = o.inst_type == "SPOT" and req.ord_type == "market"
    return {
        "accFillSz": fmt_amount(o.acc_fill_sz),
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoClOrdId": "",
        "attachAlgoOrds": [],
        "avgPx": "" if avg is None else fmt_amount(avg),
        "cTime": str(o.c_time),
        "cancelSource": o.cancel_source,
        "cancelSourceReason": "",
        "category": "normal",
        "ccy": "",
        "clOrdId": req.cl_ord_id,
        "fee": fmt_amount(o.fee),
        "feeCcy": quote_ccy(req.inst_id),
        "fillPx": fmt(last.px) if last else "",
        "fillSz": fmt_amount(last.sz) if last else "0",
        "fillTime": str(last.time) if last else "",
        "instId": req.inst_id,
        "instType": o.inst_type,
        "isTpLimit": "false",
        "lever": "" if req.td_mode == "cash" else o.lever,
        "linkedAlgoOrd": {"algoId": ""},
        "ordId": o.ord_id,
        "ordType": req.ord_type,
        "pnl": fmt_amount(o.pnl),
        "posSide": "net",
        "px": fmt(req.px) if req.px is not None else "",
        "pxType": "",
        "pxUsd": "",
        "pxVol": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": quote_ccy(req.inst_id),
        "reduceOnly": "true" if req.reduce_only else "false",
        "side": req.side,
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": o.state,
        "stpId": "",
        "stpMode": "cancel_maker",
        "sz": fmt(req.sz),
        "tag": req.tag,
        "tdMode": req.td_mode,
        # The simulator sizes spot market orders in the base currency.
        "tgtCcy": "base_ccy" if spot_market else "",
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tradeId": last.trade_id if last else "",
        "tradeQuoteCcy": quote_ccy(req.inst_id),
        "uTime": str(o.u_time),
    }


def fill_row(o: Order, f: Fill) -> Record:
    """Builds one item of GET /api/v5/trade/fills and /fills-history."""
    req = o.request
    swap = o.inst_type == "SWAP"
    rate = TAKER_FEE if f.exec_type == "T" else MAKER_FEE
    return {
        "side": req.side,
        "fillSz": fmt_amount(f.sz),
        "fillPx": fmt(f.px),
        "fillPxVol": "",
        "fillFwdPx": "",
        "fee": fmt_amount(f.fee),
        "fillPnl": fmt_amount(f.pnl),
        "ordId": o.ord_id,
        "feeRate": "" if swap else fmt_amount(-rate),  # SPOT and MARGIN only
        "instType": o.inst_type,
        "fillPxUsd": "",
        "instId": req.inst_id,
        "clOrdId": req.cl_ord_id,
        "posSide": "net",
        "billId": f.bill_id,
        "subType": f.sub_type,
        "fillMarkVol": "",
        "tag": req.tag,
        "fillTime": str(f.time),
        "execType": f.exec_type,
        "fillIdxPx": "",
        "tradeId": f.trade_id,
        "fillMarkPx": fmt(f.px) if swap else "",  # FUTURES, SWAP, OPTION only
        "feeCcy": f.fee_ccy,
        "ts": str(f.time),
        "tradeQuoteCcy": quote_ccy(req.inst_id),
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
