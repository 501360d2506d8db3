"""The exchange's state and matching: prices, orders, fills, positions, cash. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from simulator.account import Account, Position
from simulator.admission import closable, position_of, refusal
from simulator.config import SimConfig
from simulator.market import Market, inst_type, now_ms, quote_ccy
from simulator.money import fmt, fmt_amount
from simulator.okx import frames
from simulator.orders import Fill, Order, OrderRequest

# Order states GET /api/v5/trade/orders-pending lists; the others are terminal.
PENDING = frozenset({"live", "partially_filled"})
TAKER_FEE = Decimal("0.001")
MAKER_FEE = Decimal("0.0008")


@dataclass(frozen=True)
class Push:
    """One data item for the subscribers of `channel` that match this instType and instId."""

    channel: str
    inst_type: str
    inst_id: str
    data: frames.Frame


@dataclass(frozen=True)
class OrderResult:
    """The per-order outcome of a place or cancel request (sCode "0" = accepted)."""

    ord_id: str
    cl_ord_id: str
    tag: str
    ts: int
    s_code: str = "0"
    s_msg: str = ""
    sub_code: str = ""


class _Ids:
    """Increasing numeric ids starting from the clock: a restarted simulator never reuses one."""

    def __init__(self) -> None:
        self._last = now_ms() * 1000

    def next(self) -> str:
        self._last += 1
        return str(self._last)


class Exchange:
    """Markets, orders and the one account; every method returns the pushes it caused."""

    def __init__(self, config: SimConfig) -> None:
        self.markets = {i: Market(i, Decimal(p), config.seed) for i, p in config.markets.items()}
        self.account = Account(cash=Decimal(config.balance))
        self.orders: dict[str, Order] = {}
        self.leverage = config.leverage
        # Every execution, oldest first, with its order: what the fills endpoints page through.
        self.fills: list[tuple[Order, Fill]] = []
        self._ord_ids = _Ids()
        self._trade_ids = _Ids()
        self._bill_ids = _Ids()
        self._pos_ids = _Ids()
        self.fill_count = 0

    def marks(self) -> dict[str, Decimal]:
        """Returns the mark price (= last) of every market."""
        return {i: m.last for i, m in self.markets.items()}

    def price_pushes(self, inst_id: str) -> list[Push]:
        """Returns the tickers and mark-price items of a market's current price."""
        market = self.markets[inst_id]
        kind = inst_type(inst_id)
        return [
            Push("tickers", kind, inst_id, frames.ticker(market, kind)),
            Push("mark-price", kind, inst_id, frames.mark_price(market, kind)),
        ]

    def set_price(self, inst_id: str, price: Decimal) -> list[Push]:
        """Moves a market's price, then fills the resting limit orders it crosses."""
        market = self.markets[inst_id]
        market.set_price(price)
        pushes = self.price_pushes(inst_id)
        for order in self.live_orders(inst_id):
            px = order.request.px
            if px is None:  # only limit orders rest; this keeps the type checker informed
                continue
            if _crosses(order.request.side, price, px):
                pushes += self._fill_resting(order, px)
        return pushes

    def live_orders(self, inst_id: str | None = None) -> list[Order]:
        """Returns the pending orders (of one market), oldest first."""
        return [
            o
            for o in self.orders.values()
            if o.state in PENDING and (inst_id is None or o.request.inst_id == inst_id)
        ]

    def place(self, req: OrderRequest) -> tuple[OrderResult, list[Push]]:
        """Places a validated order: market orders fill now, limit orders fill now or rest."""
        now = now_ms()
        refused = refusal(
            req, self.account, self.live_orders(), self.marks(), Decimal(self.leverage)
        )
        if refused is not None:
            return OrderResult(
                "", req.cl_ord_id, req.tag, now, refused.s_code, refused.s_msg, refused.sub_code
            ), []
        order = Order(
            ord_id=self._ord_ids.next(),
            request=req,
            inst_type=inst_type(req.inst_id, req.td_mode),
            c_time=now,
            u_time=now,
            lever="0" if req.td_mode == "cash" else self.leverage,
        )
        self.orders[order.ord_id] = order
        last = self.markets[req.inst_id].last
        if req.px is None:
            pushes = self._fill(order, last, "T")
        elif _crosses(req.side, last, req.px):
            pushes = self._fill(order, last, "T")  # marketable limit: takes at the current price
        else:
            pushes = [self._order_push(order)]
        return OrderResult(order.ord_id, req.cl_ord_id, req.tag, now), pushes

    def cancel(self, inst_id: str, ord_id: str, cl_ord_id: str) -> tuple[OrderResult, list[Push]]:
        """Cancels a pending order by ordId or clOrdId."""
        now = now_ms()
        order = self.find(inst_id, ord_id, cl_ord_id)
        if order is None:
            return OrderResult(ord_id, cl_ord_id, "", now, "51603", "Order does not exist"), []
        if order.state not in PENDING:
            msg = (
                "Order cancellation failed as the order has been filled, canceled or does not exist"
            )
            return OrderResult(order.ord_id, cl_ord_id, "", now, "51400", msg), []
        result = OrderResult(order.ord_id, order.request.cl_ord_id, order.request.tag, now)
        return result, [self._cancel(order, "1")]  # 1: canceled by the user

    def positions_data(self, wanted: Mapping[str, str]) -> list[frames.Frame]:
        """Returns the open positions matching a positions subscription (for its snapshot)."""
        now = now_ms()
        return [
            frames.position(p, self.markets[p.inst_id].last, now)
            for p in self.account.positions.values()
            if p.pos and inst_matches(wanted, p.inst_type, p.inst_id)
        ]

    def account_data(self) -> frames.Frame:
        """Returns the account item."""
        return frames.account(self.account, self.marks(), now_ms())

    def state(self) -> dict[str, Any]:
        """Returns a JSON-able picture of prices, pending orders, positions and cash."""
        return {
            "prices": {i: fmt(m.last) for i, m in self.markets.items()},
            "orders": [
                {
                    "ordId": o.ord_id,
                    "clOrdId": o.request.cl_ord_id,
                    "instId": o.request.inst_id,
                    "side": o.request.side,
                    "ordType": o.request.ord_type,
                    "px": fmt(o.request.px) if o.request.px is not None else "",
                    "sz": fmt(o.request.sz),
                    "state": o.state,
                }
                for o in self.live_orders()
            ],
            "positions": {
                p.inst_id: {"pos": fmt_amount(p.pos), "avgPx": fmt_amount(p.avg_px)}
                for p in self.account.positions.values()
            },
            "cash": fmt_amount(self.account.cash),
            "equity": fmt_amount(self.account.equity(self.marks())),
            "fills": self.fill_count,
        }

    def find(self, inst_id: str, ord_id: str, cl_ord_id: str) -> Order | None:
        """Returns an order of a market by ordId, else the latest one holding the clOrdId."""
        if ord_id:
            order = self.orders.get(ord_id)
        else:
            # A clOrdId may be reused once its order is done: the latest order holds it.
            matching = [o for o in self.orders.values() if o.request.cl_ord_id == cl_ord_id]
            order = matching[-1] if cl_ord_id and matching else None
        return order if order is not None and order.request.inst_id == inst_id else None

    def _order_push(self, order: Order) -> Push:
        last = self.markets[order.request.inst_id].last
        data = frames.order(order, last)
        return Push("orders", order.inst_type, order.request.inst_id, data)

    def _cancel(self, order: Order, source: str) -> Push:
        order.state = "canceled"
        order.cancel_source = source
        order.u_time = now_ms()
        order.last_fill = None
        return self._order_push(order)

    def _fill_resting(self, order: Order, px: Decimal) -> list[Push]:
        """Fills a crossed resting order; a reduce-only one never fills past the position."""
        left = order.request.sz - order.acc_fill_sz
        if order.request.reduce_only:
            pos = position_of(self.account, order.request.inst_id)
            left = min(left, closable(order.request.side, pos))
            if not left:  # the position is gone or flipped: nothing left to reduce
                return [self._cancel(order, "")]
        pushes = self._fill(order, px, "M", left)
        if order.state != "filled":  # clipped to the position: the rest is canceled
            pushes.append(self._cancel(order, ""))
        return pushes

    def _fill(
        self, order: Order, px: Decimal, exec_type: str, size: Decimal | None = None
    ) -> list[Push]:
        req = order.request
        now = now_ms()
        sz = req.sz - order.acc_fill_sz if size is None else size
        fee = -(px * sz * (TAKER_FEE if exec_type == "T" else MAKER_FEE))
        position = self._position(order, now)
        sub_type = _sub_type(order, position.pos)
        realized = position.apply(sz if req.side == "buy" else -sz, px)
        fill = Fill(
            self._trade_ids.next(), px, sz, fee, quote_ccy(req.inst_id), now, exec_type,
            realized, self._bill_ids.next(), sub_type,
        )  # fmt: skip
        order.last_fill = fill
        order.fills.append(fill)
        self.fills.append((order, fill))
        self.fill_count += 1
        order.acc_fill_sz += sz
        order.notional += px * sz
        order.fee += fee
        order.pnl += realized
        order.state = "filled" if order.acc_fill_sz == req.sz else "partially_filled"
        order.u_time = now
        position.fee += fee
        position.trade_id = fill.trade_id
        position.u_time = now
        self.account.cash += realized + fee
        self.markets[req.inst_id].record_trade(sz, px)
        mark = self.markets[req.inst_id].last
        return [
            self._order_push(order),
            Push(
                "positions", position.inst_type, req.inst_id, frames.position(position, mark, now)
            ),
            Push("account", "", "", self.account_data()),
        ]

    def _position(self, order: Order, now: int) -> Position:
        inst_id = order.request.inst_id
        held = self.account.positions.get(inst_id)
        if held is None:
            kind = "SWAP" if inst_id.endswith("-SWAP") else "MARGIN"
            mode = "isolated" if order.request.td_mode == "isolated" else "cross"
            held = Position(inst_id, kind, self._pos_ids.next(), mode, now, now)
            held.lever = "1" if order.request.td_mode == "cash" else self.leverage
            self.account.positions[inst_id] = held
        return held


def _sub_type(order: Order, pos: Decimal) -> str:
    """Returns OKX's fill subType: 1/2 buy/sell; swaps 3/4 open long/short, 5/6 close them."""
    buy = order.request.side == "buy"
    if order.inst_type != "SWAP":
        return "1" if buy else "2"
    if buy:
        return "6" if pos < 0 else "3"
    return "5" if pos > 0 else "4"


def _crosses(side: str, price: Decimal, px: Decimal) -> bool:
    """Tells whether `price` reaches a limit: a buy at or below px, a sell at or above."""
    return price <= px if side == "buy" else price >= px


def inst_matches(wanted: Mapping[str, str], kind: str, inst_id: str) -> bool:
    """Tells whether an orders/positions subscription (instType, instFamily, instId) covers it."""
    if wanted.get("instType", "ANY") not in ("ANY", kind):
        return False
    if wanted.get("instId") not in (None, inst_id):
        return False
    family = wanted.get("instFamily")
    return family is None or inst_id.startswith(family + "-")
