"""OKX v5 frames, field for field as the documented samples in tests/data/okx/ show them."""

from __future__ import annotations

from typing import Any

from simulator.account import Balance, PositionView
from simulator.market import Ticker
from simulator.money import fmt, fmt_amount
from simulator.okx.orders import inst_type, position_inst_type, tag, td_mode
from simulator.orders import OrderView

Frame = dict[str, Any]


def event(name: str, conn_id: str, req_id: object = None, **fields: Any) -> Frame:
    """Builds an event frame (subscribe/unsubscribe/login/error) with the request id echoed."""
    frame: Frame = {} if req_id is None else {"id": req_id}
    frame["event"] = name
    frame.update(fields)
    frame["connId"] = conn_id
    return frame


def exec_type(maker: bool) -> str:
    """Returns OKX's execType of a fill: M maker, T taker."""
    return "M" if maker else "T"


def error(code: str, msg: str, conn_id: str, req_id: object = None) -> Frame:
    """Builds `{"event":"error","code","msg","connId"}`."""
    return event("error", conn_id, req_id, code=code, msg=msg)


def ticker(t: Ticker) -> Frame:
    """Builds one `tickers` data item."""
    return {
        "instType": inst_type(t.instrument),
        "instId": t.market,
        "last": fmt(t.last),
        "lastSz": fmt_amount(t.last_size),
        "askPx": fmt(t.ask),
        "askSz": "1",
        "bidPx": fmt(t.bid),
        "bidSz": "1",
        "open24h": fmt(t.open24h),
        "high24h": fmt(t.high24h),
        "low24h": fmt(t.low24h),
        "volCcy24h": fmt_amount(t.vol_quote24h),
        "vol24h": fmt_amount(t.vol24h),
        "sodUtc0": fmt(t.open24h),
        "sodUtc8": fmt(t.open24h),
        "ts": str(t.ts),
    }


def mark_price(t: Ticker) -> Frame:
    """Builds one `mark-price` data item (the simulator's mark is its last price)."""
    return {
        "instType": inst_type(t.instrument),
        "instId": t.market,
        "markPx": fmt(t.last),
        "ts": str(t.ts),
    }


def index_ticker(t: Ticker, index: str) -> Frame:
    """Builds one `index-tickers` data item: the index follows its market's last price."""
    return {
        "instId": index,
        "idxPx": fmt(t.last),
        "high24h": fmt(t.high24h),
        "low24h": fmt(t.low24h),
        "open24h": fmt(t.open24h),
        "sodUtc0": fmt(t.open24h),
        "sodUtc8": fmt(t.open24h),
        "ts": str(t.ts),
    }


def cancel_source(o: OrderView) -> str:
    """Returns OKX's cancelSource: 1 for a cancel the user asked for, else empty."""
    return "1" if o.cancel_reason == "user" else ""


def order(o: OrderView) -> Frame:
    """Builds one `orders` data item; the fill fields are set only on the push of that fill."""
    req, f = o.request, o.fill
    avg, quote = o.avg_price, o.instrument.quote
    notional_usd = fmt_amount(req.size * (req.price or o.last_price))
    return {
        "accFillSz": fmt_amount(o.filled),
        "algoClOrdId": "",
        "algoId": "",
        "amendResult": "",
        "amendSource": "",
        "avgPx": "" if avg is None else fmt_amount(avg),
        "cancelSource": cancel_source(o),
        "category": "normal",
        "ccy": "",
        "clOrdId": req.client_id,
        "code": "0",
        "cTime": str(o.c_time),
        "execType": exec_type(f.maker) if f else "",
        "fee": fmt_amount(o.fee),
        "feeCcy": quote,
        "fillFee": fmt_amount(f.fee) if f else "0",
        "fillFeeCcy": f.fee_ccy if f else "",
        "fillNotionalUsd": fmt_amount(f.price * f.size) if f else "",
        "fillPx": fmt(f.price) if f else "",
        "fillSz": fmt_amount(f.size) if f else "0",
        "fillPnl": fmt_amount(f.pnl) if f else "0",
        "fillTime": str(f.time) if f else "",
        "fillPxVol": "",
        "fillPxUsd": "",
        "fillMarkVol": "",
        "fillFwdPx": "",
        "fillMarkPx": "",
        "fillIdxPx": "",
        "instId": req.market,
        "instType": inst_type(o.instrument, req.margin_mode),
        "lever": "0" if o.leverage is None else fmt(o.leverage),
        "msg": "",
        "notionalUsd": notional_usd,
        "ordId": o.order_id,
        "ordType": req.ord_type,
        "pnl": fmt_amount(o.pnl),
        "posSide": "" if req.margin_mode == "cash" else "net",
        "px": fmt(req.price) if req.price is not None else "",
        "pxUsd": "",
        "pxVol": "",
        "pxType": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": quote,
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
        "sz": fmt(req.size),
        "tag": tag(req),
        "tdMode": td_mode(req),
        "tgtCcy": "",
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "attachAlgoOrds": [],
        "tradeId": f.trade_id if f else "",
        "tradeQuoteCcy": quote,
        "lastPx": fmt(o.last_price),
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


def position(p: PositionView) -> Frame:
    """Builds one `positions` data item for a net position."""
    upl, mark = p.upl, p.mark
    cost = abs(p.size) * p.avg_price
    ratio = fmt_amount(upl / cost) if cost else "0"
    values: Frame = {
        "adl": "1",
        "availPos": fmt_amount(abs(p.size)),
        "avgPx": fmt_amount(p.avg_price) if p.size else "",
        "cTime": str(p.c_time),
        "ccy": p.instrument.quote,
        "instId": p.market,
        "instType": position_inst_type(p.instrument),
        "interest": "0",
        "idxPx": fmt(mark),
        "last": fmt(mark),
        "lever": fmt(p.leverage),
        "markPx": fmt(mark),
        "mgnMode": p.margin_mode,
        "notionalUsd": fmt_amount(abs(p.size) * mark),
        "pTime": str(p.ts),
        "pos": fmt_amount(p.size),
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


def account(b: Balance) -> Frame:
    """Builds the `account` data item: one currency detail (the settlement currency)."""
    upl, now = b.upl, b.ts
    eq = fmt_amount(b.equity)
    cash = fmt_amount(b.cash)
    detail: Frame = {
        "availBal": cash,
        "availEq": eq,
        "borrowFroz": "0",
        "cashBal": cash,
        "ccy": b.ccy,
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
