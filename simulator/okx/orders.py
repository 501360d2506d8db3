"""OKX's words for the engine's: instIds and instTypes, place-order bodies, refusal codes.

Codes and messages are OKX's (https://www.okx.com/docs-v5/en/#error-code-rest-api-trade-class).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from simulator.account import MarginMode
from simulator.admission import Refusal
from simulator.market import Instrument, default_tick
from simulator.money import parse_positive
from simulator.orders import OrderRequest

_CCY = re.compile(r"^[A-Z0-9]{1,12}$")
_CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
# OKX's tdMode -> the engine's margin mode. spot_isolated is isolated margin on spot.
_TD_MODES: Mapping[str, MarginMode] = MappingProxyType(
    {"cash": "cash", "cross": "cross", "isolated": "isolated", "spot_isolated": "isolated"}
)


@dataclass(frozen=True)
class Reject:
    """A per-order refusal: OKX's sCode, sMsg and subCode."""

    s_code: str
    s_msg: str
    sub_code: str = ""


_REJECTS = {
    Refusal.DUPLICATE_CLIENT_ID: Reject("51016", "Client order ID already exists."),
    Refusal.NO_POSITION: Reject(
        "51169",
        "Order failed because you don't have any positions in this direction for this contract "
        "to reduce or close.",
    ),
    Refusal.SAME_DIRECTION: Reject(
        "51170",
        "Failed to place order. A reduce-only order can\u2019t be the same trading direction as "
        "your existing positions.",
    ),
    Refusal.UNKNOWN_ORDER: Reject("51603", "Order does not exist"),
    Refusal.NOT_PENDING: Reject(
        "51400",
        "Order cancellation failed as the order has been filled, canceled or does not exist",
    ),
}
# OKX: "If sz exceeds the current position size, the entire order is rejected - the system does
# not auto-trim". Which code it answers with is not documented; these two name the case.
SWAP_TOO_LARGE = Reject("51112", "Close order size exceeds available size for this position.")
MARGIN_TOO_LARGE = Reject(
    "51134",
    "Closing failed. Please check your margin holdings and pending orders. "
    "Turn off the Reduce-only to continue.",
)


def instrument(inst_id: str) -> Instrument | None:
    """Returns what an instId trades: BASE-QUOTE spot, BASE-QUOTE-SWAP a linear perpetual."""
    parts = inst_id.split("-")
    swap = len(parts) == 3 and parts[2] == "SWAP"
    if not (len(parts) == 2 or swap) or not all(_CCY.match(p) for p in parts[:2]):
        return None
    base, quote = parts[0], parts[1]
    return Instrument(base, quote, "perpetual" if swap else "spot", default_tick(base))


def inst_type(instrument: Instrument, margin_mode: MarginMode = "cash") -> str:
    """Returns OKX's instType of an order: SWAP for perpetuals, else SPOT (cash) or MARGIN."""
    if instrument.kind == "perpetual":
        return "SWAP"
    return "SPOT" if margin_mode == "cash" else "MARGIN"


def position_inst_type(instrument: Instrument) -> str:
    """Returns OKX's instType of a position: SWAP, or MARGIN for spot holdings."""
    return "SWAP" if instrument.kind == "perpetual" else "MARGIN"


def reject(refusal: Refusal, instrument: Instrument) -> Reject:
    """Returns OKX's sCode, sMsg and subCode for the engine's refusal of an order."""
    if refusal is Refusal.REDUCE_TOO_LARGE:
        return SWAP_TOO_LARGE if instrument.kind == "perpetual" else MARGIN_TOO_LARGE
    if refusal is Refusal.INSUFFICIENT_BALANCE:
        return Reject(
            "51008", f"Order failed. Insufficient {instrument.quote} balance in account", "1000"
        )
    if refusal is Refusal.INSUFFICIENT_MARGIN:
        return Reject(
            "51008", f"Order failed. Insufficient {instrument.quote} margin in account", "1001"
        )
    return _REJECTS[refusal]


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
    if not isinstance(td_mode, str) or td_mode not in _TD_MODES:
        return _param_error("tdMode")
    if side != "buy" and side != "sell":
        return _param_error("side")
    # OKX's other ordType values exist but are not simulated: they get 51000 like a bad value.
    if ord_type != "market" and ord_type != "limit":
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
        market=inst_id,
        side=side,
        ord_type=ord_type,
        size=sz,
        price=px,
        client_id=cl_ord_id,
        margin_mode=_TD_MODES[td_mode],
        reduce_only=reduce_only,
        extra=MappingProxyType({"tdMode": td_mode, "tag": tag}),
    )


def td_mode(req: OrderRequest) -> str:
    """Returns the tdMode the order was placed with."""
    return req.extra.get("tdMode", req.margin_mode)


def tag(req: OrderRequest) -> str:
    """Returns the order's tag ("" when none)."""
    return req.extra.get("tag", "")
