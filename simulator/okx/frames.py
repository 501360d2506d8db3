"""OKX v5 frames, field for field as the documented samples in tests/data/okx/ show them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from simulator.account import Account, Position
from simulator.market import Market, quote_ccy
from simulator.money import fmt, fmt_amount
from simulator.orders import Order

Frame = dict[str, Any]


def event(name: str, conn_id: str, req_id: object = None, **fields: Any) -> Frame:
    """Builds an event frame (subscribe/unsubscribe/login/error) with the request id echoed."""
    frame: Frame = {} if req_id is None else {"id": req_id}
    frame["event"] = name
    frame.update(fields)
    frame["connId"] = conn_id
    return frame


def error(code: str, msg: str, conn_id: str, req_id: object = None) -> Frame:
    """Builds `{"event":"error","code","msg","connId"}`."""
    return event("error", conn_id, req_id, code=code, msg=msg)


def ticker(market: Market, inst_type: str) -> Frame:
    """Builds one `tickers` data item: bid/ask one tick around last."""
    return {
        "instType": inst_type,
        "instId": market.inst_id,
        "last": fmt(market.last),
        "lastSz": fmt_amount(market.last_sz),
        "askPx": fmt(market.last + market.tick),
        "askSz": "1",
        "bidPx": fmt(max(market.last - market.tick, market.tick)),
        "bidSz": "1",
        "open24h": fmt(market.open24h),
        "high24h": fmt(market.high24h),
        "low24h": fmt(market.low24h),
        "volCcy24h": fmt_amount(market.vol_ccy24h),
        "vol24h": fmt_amount(market.vol24h),
        "sodUtc0": fmt(market.open24h),
        "sodUtc8": fmt(market.open24h),
        "ts": str(market.ts),
    }


def mark_price(market: Market, inst_type: str) -> Frame:
    """Builds one `mark-price` data item (the simulator's mark is its last price)."""
    return {
        "instType": inst_type,
        "instId": market.inst_id,
        "markPx": fmt(market.last),
        "ts": str(market.ts),
    }


def order(o: Order, last_px: Decimal) -> Frame:
    """Builds one `orders` data item; the fill fields are set only on the push of that fill."""
    req, f = o.request, o.last_fill
    avg = o.avg_px
    notional_usd = fmt_amount(req.sz * (req.px or last_px))
    return {
        "accFillSz": fmt_amount(o.acc_fill_sz),
        "algoClOrdId": "",
        "algoId": "",
        "amendResult": "",
        "amendSource": "",
        "avgPx": "" if avg is None else fmt_amount(avg),
        "cancelSource": o.cancel_source,
        "category": "normal",
        "ccy": "",
        "clOrdId": req.cl_ord_id,
        "code": "0",
        "cTime": str(o.c_time),
        "execType": f.exec_type if f else "",
        "fee": fmt_amount(o.fee),
        "feeCcy": quote_ccy(req.inst_id),
        "fillFee": fmt_amount(f.fee) if f else "0",
        "fillFeeCcy": f.fee_ccy if f else "",
        "fillNotionalUsd": fmt_amount(f.px * f.sz) if f else "",
        "fillPx": fmt(f.px) if f else "",
        "fillSz": fmt_amount(f.sz) if f else "0",
        "fillPnl": fmt_amount(f.pnl) if f else "0",
        "fillTime": str(f.time) if f else "",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": "",
        "fillIdxPx": "",
        "instId": req.inst_id,
        "instType": o.inst_type,
        "lever": o.lever,
        "msg": "",
        "notionalUsd": notional_usd,
        "ordId": o.ord_id,
        "ordType": req.ord_type,
        "pnl": fmt_amount(o.pnl),
        "posSide": "" if req.td_mode == "cash" else "net",
        "px": fmt(req.px) if req.px is not None else "",
        "pxUsd": "",
        "pxVol": "",
        "pxType": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": quote_ccy(req.inst_id),
        "reduceOnly": "true" if req.reduce_only else "false",
        "reqId": "",
        "side": req.side,
        "attachAlgoClOrdId": "",
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": o.state,
        "stpId": "",
        "stpMode": "",
        "sz": fmt(req.sz),
        "tag": req.tag,
        "tdMode": req.td_mode,
        "tgtCcy": "",
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "attachAlgoOrds": [],
        "tradeId": f.trade_id if f else "",
        "tradeQuoteCcy": quote_ccy(req.inst_id),
        "lastPx": fmt(last_px),
        "uTime": str(o.u_time),
        "isTpLimit": "false",
        "linkedAlgoOrd": {"algoId": ""},
    }


# Key order of OKX's positions item; keys the simulator has no value for are sent as "".
_POSITION_KEYS = (
    *("adl", "availPos", "avgPx", "cTime", "ccy", "deltaBS", "deltaPA", "gammaBS", "gammaPA"),
    *("hedgedPos", "imr", "instId", "instType", "interest", "idxPx", "last", "lever", "liab"),
    *("liabCcy", "liqPx", "markPx", "margin", "mgnMode", "mgnRatio", "mmr", "notionalUsd"),
    *("optVal", "pTime", "pendingCloseOrdLiabVal", "pos", "baseBorrowed", "baseInterest"),
    *("quoteBorrowed", "quoteInterest", "posCcy", "posId", "posSide", "spotInUseAmt"),
    *("clSpotInUseAmt", "maxSpotInUseAmt", "bizRefId", "bizRefType", "spotInUseCcy", "thetaBS"),
    *("thetaPA", "tradeId", "uTime", "upl", "uplLastPx", "uplRatio", "uplRatioLastPx", "vegaBS"),
    *("vegaPA", "realizedPnl", "pnl", "fee", "fundingFee", "liqPenalty", "nonSettleAvgPx"),
    *("settledPnl", "closeOrderAlgo"),
)


def position(p: Position, mark: Decimal, now: int) -> Frame:
    """Builds one `positions` data item for a net position."""
    upl = p.upl(mark)
    cost = abs(p.pos) * p.avg_px
    ratio = fmt_amount(upl / cost) if cost else "0"
    values: Frame = {
        "adl": "1",
        "availPos": fmt_amount(abs(p.pos)),
        "avgPx": fmt_amount(p.avg_px) if p.pos else "",
        "cTime": str(p.c_time),
        "ccy": quote_ccy(p.inst_id),
        "instId": p.inst_id,
        "instType": p.inst_type,
        "interest": "0",
        "idxPx": fmt(mark),
        "last": fmt(mark),
        "lever": p.lever,
        "markPx": fmt(mark),
        "mgnMode": p.mgn_mode,
        "notionalUsd": fmt_amount(abs(p.pos) * mark),
        "pTime": str(now),
        "pos": fmt_amount(p.pos),
        "posId": p.pos_id,
        "posSide": "net",
        "tradeId": p.trade_id,
        "uTime": str(p.u_time),
        "upl": fmt_amount(upl),
        "uplLastPx": fmt_amount(upl),
        "uplRatio": ratio,
        "uplRatioLastPx": ratio,
        "realizedPnl": fmt_amount(p.pnl + p.fee),
        "pnl": fmt_amount(p.pnl),
        "fee": fmt_amount(p.fee),
        "fundingFee": "0",
        "liqPenalty": "0",
        "closeOrderAlgo": [],
    }
    return {key: values.get(key, "") for key in _POSITION_KEYS}


def account(acct: Account, marks: dict[str, Decimal], now: int) -> Frame:
    """Builds the `account` data item: one currency detail (the settlement currency)."""
    upl = acct.upl(marks)
    eq = fmt_amount(acct.cash + upl)
    cash = fmt_amount(acct.cash)
    detail: Frame = {
        "availBal": cash,
        "availEq": eq,
        "borrowFroz": "0",
        "cashBal": cash,
        "ccy": acct.ccy,
        "coinUsdPrice": "1",
        "crossLiab": "0",
        "colRes": "0",
        "collateralEnabled": False,
        "collateralRestrict": False,
        "colBorrAutoConversion": "0",
        "disEq": eq,
        "eq": eq,
        "eqUsd": eq,
        "smtSyncEq": "0",
        "spotCopyTradingEq": "0",
        "fixedBal": "0",
        "frozenBal": "0",
        "frpType": "0",
        "imr": "",
        "interest": "0",
        "isoEq": "0",
        "isoLiab": "0",
        "isoUpl": "0",
        "liab": "0",
        "maxLoan": "0",
        "mgnRatio": "",
        "mmr": "",
        "notionalLever": "",
        "ordFrozen": "0",
        "rewardBal": "0",
        "spotInUseAmt": "",
        "clSpotInUseAmt": "",
        "maxSpotInUseAmt": "",
        "spotIsoBal": "0",
        "stgyEq": "0",
        "twap": "0",
        "uTime": str(now),
        "upl": fmt_amount(upl),
        "uplLiab": "0",
        "spotBal": "",
        "openAvgPx": "",
        "accAvgPx": "",
        "spotUpl": "",
        "spotUplRatio": "",
        "totalPnl": "",
        "totalPnlRatio": "",
    }
    return {
        "adjEq": eq,
        "availEq": eq,
        "borrowFroz": "0",
        "delta": "0",
        "deltaLever": "0",
        "deltaNeutralStatus": "0",
        "details": [detail],
        "imr": "0",
        "isoEq": "0",
        "mgnRatio": "",
        "mmr": "0",
        "notionalUsd": "0",
        "notionalUsdForBorrow": "0",
        "notionalUsdForFutures": "0",
        "notionalUsdForOption": "0",
        "notionalUsdForSwap": "0",
        "ordFroz": "0",
        "totalEq": eq,
        "uTime": str(now),
        "upl": fmt_amount(upl),
    }
