"""The exchange's state and matching: prices, orders, fills, positions, cash. No I/O, no venue
wire format here: every change returns neutral events (simulator.events) for the venues to render.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

from simulator.account import Account, Balance, Position, PositionView
from simulator.admission import Refusal, closable, position_of, refusal
from simulator.events import Event
from simulator.market import Market, Ticker, now_ms
from simulator.orders import CancelReason, Fill, Order, OrderRequest, OrderView
from simulator.valuation import Valuation

TAKER_FEE = Decimal("0.001")
MAKER_FEE = Decimal("0.0008")


@dataclass(frozen=True)
class Outcome:
    """What a place or cancel request came to: the order as it stands, or why it was refused."""

    order: OrderView | None
    refused: Refusal | None
    ts: int  # ms


class _Ids:
    """Increasing numeric ids starting from the clock: a restarted simulator never reuses one."""

    def __init__(self) -> None:
        self._last = now_ms() * 1000

    def next(self) -> str:
        self._last += 1
        return str(self._last)


class Marks(Mapping[str, Decimal]):
    """Every market's mark price (= last), read when asked: an order's margin check needs the
    marks of the markets it holds positions in, not a copy of a thousand markets' prices."""

    def __init__(self, markets: Mapping[str, Market]) -> None:
        self._markets = markets

    def __getitem__(self, name: str) -> Decimal:
        return self._markets[name].last

    def __iter__(self) -> Iterator[str]:
        return iter(self._markets)

    def __len__(self) -> int:
        return len(self._markets)


class Exchange:
    """Markets, orders and the one account; every change returns the events it caused."""

    def __init__(self, markets: Iterable[Market], balance: Decimal, leverage: Decimal) -> None:
        self.markets = {m.name: m for m in markets}
        self.account = Account(cash=balance)
        self.leverage = leverage  # of margin (cross/isolated) orders; cash orders use none
        self.orders: dict[str, Order] = {}
        # Every execution, oldest first, with its order: what the fills endpoints page through.
        self.fills: list[tuple[Order, Fill]] = []
        self._ord_ids = _Ids()
        self._trade_ids = _Ids()
        self._seq = _Ids()
        self._pos_ids = _Ids()
        self.valued = Valuation(self.account, self.markets)

    def marks(self) -> Marks:
        """Returns the mark price (= last) of every market, as it stands when read."""
        return Marks(self.markets)

    def ticker(self, market: str) -> Ticker:
        """Returns a market's current price."""
        return self.markets[market].ticker()

    def set_price(self, market: str, price: Decimal) -> list[Event]:
        """Moves a market's price, then fills the resting limit orders it crosses."""
        self.markets[market].set_price(price)
        self.valued.forget(market)
        events: list[Event] = [self.ticker(market)]
        for order in self._live(market):
            px = order.request.price
            if px is None:  # only limit orders rest; this keeps the type checker informed
                continue
            if _crosses(order.request.side, price, px):
                events += self._fill_resting(order, px)
        return events

    def live_orders(self) -> list[Order]:
        """Returns the pending orders themselves, oldest first."""
        return self._live()

    def pending(self, market: str | None = None) -> list[OrderView]:
        """Returns the pending orders (of one market), oldest first."""
        return [self._view(o) for o in self._live(market)]

    def place(self, req: OrderRequest) -> tuple[Outcome, list[Event]]:
        """Places a validated order: market orders fill now, limit orders fill now or rest."""
        now = now_ms()
        refused = refusal(req, self.account, self._live(), self.marks(), self.leverage, self.valued)
        if refused is not None:
            return Outcome(None, refused, now), []
        order = Order(
            order_id=self._ord_ids.next(),
            request=req,
            instrument=self.markets[req.market].instrument,
            c_time=now,
            u_time=now,
            leverage=None if req.margin_mode == "cash" else self.leverage,
        )
        self.orders[order.order_id] = order
        last = self.markets[req.market].last
        if req.price is None or _crosses(req.side, last, req.price):
            events = self._fill(order, last, maker=False)  # a marketable limit takes at last
        else:
            events = [self._view(order)]
        return Outcome(self._view(order), None, now), events

    def cancel(self, market: str, order_id: str, client_id: str) -> tuple[Outcome, list[Event]]:
        """Cancels a pending order by its order id, else by its client order id."""
        now = now_ms()
        order = self._find(market, order_id, client_id)
        if order is None:
            return Outcome(None, Refusal.UNKNOWN_ORDER, now), []
        if not order.pending:
            return Outcome(self._view(order), Refusal.NOT_PENDING, now), []
        event = self._cancel(order, "user")
        return Outcome(event, None, now), [event]

    def find(self, market: str, order_id: str, client_id: str) -> OrderView | None:
        """Returns an order of a market by order id, else the latest one holding the client id."""
        order = self._find(market, order_id, client_id)
        return None if order is None else self._view(order)

    def executions(self) -> list[tuple[OrderView, Fill]]:
        """Returns every fill with its order, oldest first."""
        return [(self._view(o), f) for o, f in self.fills]

    def positions(self) -> list[PositionView]:
        """Returns the open positions."""
        now = now_ms()
        return [
            p.view(self.markets[p.market].last, now)
            for p in self.account.positions.values()
            if p.pos
        ]

    def balance(self) -> Balance:
        """Returns the account's cash and unrealized profit and loss now."""
        return Balance(self.account.ccy, self.account.cash, self.valued.upl(), now_ms())

    def _live(self, market: str | None = None) -> list[Order]:
        return [
            o
            for o in self.orders.values()
            if o.pending and (market is None or o.request.market == market)
        ]

    def _find(self, market: str, order_id: str, client_id: str) -> Order | None:
        if order_id:
            order = self.orders.get(order_id)
        else:
            # A client order id may be reused once its order is done: the latest order holds it.
            matching = [o for o in self.orders.values() if o.request.client_id == client_id]
            order = matching[-1] if client_id and matching else None
        return order if order is not None and order.request.market == market else None

    def _view(self, order: Order, fill: Fill | None = None) -> OrderView:
        return order.view(self.markets[order.request.market].last, fill)

    def _cancel(self, order: Order, reason: CancelReason) -> OrderView:
        order.state = "canceled"
        order.cancel_reason = reason
        order.u_time = now_ms()
        return self._view(order)

    def _fill_resting(self, order: Order, px: Decimal) -> list[Event]:
        """Fills a crossed resting order; a reduce-only one never fills past the position."""
        left = order.left
        if order.request.reduce_only:
            pos = position_of(self.account, order.request.market)
            left = min(left, closable(order.request.side, pos))
            if not left:  # the position is gone or flipped: nothing left to reduce
                return [self._cancel(order, "reduce_only")]
        events = self._fill(order, px, maker=True, size=left)
        if order.state != "filled":  # clipped to the position: the rest is canceled
            events.append(self._cancel(order, "reduce_only"))
        return events

    def _fill(
        self, order: Order, px: Decimal, maker: bool, size: Decimal | None = None
    ) -> list[Event]:
        req = order.request
        market = self.markets[req.market]
        now = now_ms()
        sz = order.left if size is None else size
        rate = MAKER_FEE if maker else TAKER_FEE
        fee = -(px * sz * rate)
        position = self._position(order, now)
        reduces = bool(closable(req.side, position.pos))
        realized = position.apply(sz if req.side == "buy" else -sz, px)
        self.valued.forget(req.market)
        fill = Fill(
            trade_id=self._trade_ids.next(), price=px, size=sz, fee=fee,
            fee_ccy=market.instrument.quote, fee_rate=rate, time=now, maker=maker,
            pnl=realized, seq=self._seq.next(), reduces=reduces,
        )  # fmt: skip
        order.fills.append(fill)
        self.fills.append((order, fill))
        order.filled += sz
        order.notional += px * sz
        order.fee += fee
        order.pnl += realized
        order.state = "filled" if order.filled == req.size else "partially_filled"
        order.u_time = now
        position.fee += fee
        position.trade_id = fill.trade_id
        position.u_time = now
        self.account.cash += realized + fee
        market.record_trade(sz, px)
        return [self._view(order, fill), position.view(market.last, now), self.balance()]

    def _position(self, order: Order, now: int) -> Position:
        req = order.request
        held = self.account.positions.get(req.market)
        if held is None:
            held = Position(
                market=req.market,
                instrument=order.instrument,
                pos_id=self._pos_ids.next(),
                margin_mode="isolated" if req.margin_mode == "isolated" else "cross",
                c_time=now,
                u_time=now,
                leverage=Decimal(1) if req.margin_mode == "cash" else self.leverage,
            )
            self.account.positions[req.market] = held
        return held


def _crosses(side: str, price: Decimal, px: Decimal) -> bool:
    """Tells whether `price` reaches a limit: a buy at or below px, a sell at or above."""
    return price <= px if side == "buy" else price >= px
