"""Orders of the simulated account: request validation and the order record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from simulator.money import parse_positive

_CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_TD_MODES = frozenset({"cash", "cross", "isolated", "spot_isolated"})
# Rest of OKX's ordType values exist but are not simulated: they get 51000 like a bad value.
_ORD_TYPES = frozenset({"market", "limit"})


@dataclass(frozen=True)
class Reject:
    """A per-order refusal: OKX's sCode, sMsg and subCode."""

    s_code: str
    s_msg: str
    sub_code: str = ""


@dataclass(frozen=True)
class OrderRequest:
    """A validated place-order request."""

    inst_id: str
    td_mode: str
    side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None
    cl_ord_id: str
    tag: str
    reduce_only: bool


@dataclass
class Order:
    """One order and the last fill that touched it (OKX's order-channel fields, typed)."""

    ord_id: str
    request: OrderRequest
    inst_type: str
    c_time: int
    u_time: int
    lever: str = "0"  # "0" for cash orders, as OKX reports them
    state: str = "live"
    acc_fill_sz: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)  # sum of fillPx * fillSz, for avgPx
    fee: Decimal = Decimal(0)  # accumulated, negative = paid
    pnl: Decimal = Decimal(0)
    last_fill: Fill | None = None  # set on the orders push of that fill only
    fills: list[Fill] = field(default_factory=list)  # every execution, oldest first
    cancel_source: str = ""

    @property
    def avg_px(self) -> Decimal | None:
        """Returns the average fill price, or None before the first fill."""
        return self.notional / self.acc_fill_sz if self.acc_fill_sz else None


@dataclass(frozen=True)
class Fill:
    """One execution of an order."""

    trade_id: str
    px: Decimal
    sz: Decimal
    fee: Decimal  # negative = paid
    fee_ccy: str
    time: int
    exec_type: str  # T taker, M maker
    pnl: Decimal = field(default=Decimal(0))
    bill_id: str = ""  # the fills endpoints' cursor
    sub_type: str = ""  # OKX's transaction type: 1 buy, 2 sell, 3/4 open long/short, 5/6 close


def _param_error(name: str) -> Reject:
    return Reject("51000", f"Parameter {name} error")


def _flag(value: object) -> bool | None:
    """Reads OKX's Boolean params, which clients send as JSON booleans or as strings."""
    if value in (None, "", False, "false"):
        return False
    if value in (True, "true"):
        return True
    return None


def parse_order(body: Mapping[str, object], markets: Mapping[str, object]) -> OrderRequest | Reject:
    """Validates one place-order body the way OKX does; unknown extra params are ignored."""
    inst_id = body.get("instId")
    if not isinstance(inst_id, str) or not inst_id:
        return _param_error("instId")
    if inst_id not in markets:
        return Reject("51001", "Instrument ID does not exist.")
    td_mode, side, ord_type = body.get("tdMode"), body.get("side"), body.get("ordType")
    if td_mode not in _TD_MODES:
        return _param_error("tdMode")
    if side not in ("buy", "sell"):
        return _param_error("side")
    if ord_type not in _ORD_TYPES:
        return _param_error("ordType")
    sz = parse_positive(body.get("sz"))
    if sz is None:
        return _param_error("sz")
    px = None
    if ord_type == "limit":
        px = parse_positive(body.get("px"))
        if px is None:
            return _param_error("px")
    cl_ord_id = body.get("clOrdId") or ""
    if not isinstance(cl_ord_id, str) or (cl_ord_id and not _CL_ORD_ID.match(cl_ord_id)):
        return _param_error("clOrdId")
    tag = body.get("tag") or ""
    if not isinstance(tag, str) or len(tag) > 16:
        return _param_error("tag")
    reduce_only = _flag(body.get("reduceOnly"))
    if reduce_only is None:
        return _param_error("reduceOnly")
    return OrderRequest(
        inst_id=inst_id,
        td_mode=str(td_mode),
        side=str(side),
        ord_type=str(ord_type),
        sz=sz,
        px=px,
        cl_ord_id=cl_ord_id,
        tag=tag,
        reduce_only=reduce_only,
    )
