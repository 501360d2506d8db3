"""The one simulated account: cash in its settlement currency and a net position per market."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from simulator.market import Instrument

# cash: no borrowing (spot); cross and isolated: margin, at the account's leverage.
MarginMode = Literal["cash", "cross", "isolated"]


@dataclass(frozen=True)
class PositionView:
    """A position at one moment, valued at `mark`; `size` > 0 is long, < 0 short."""

    market: str
    instrument: Instrument
    pos_id: str
    margin_mode: MarginMode
    leverage: Decimal
    c_time: int
    u_time: int
    size: Decimal
    avg_price: Decimal
    pnl: Decimal  # realized from closing trades, before fees
    fee: Decimal  # accumulated, negative = paid
    trade_id: str  # of the last fill
    mark: Decimal
    upl: Decimal
    ts: int  # ms, when this view was taken


@dataclass(frozen=True)
class Balance:
    """The account's cash and equity in its settlement currency at one moment."""

    ccy: str
    cash: Decimal
    upl: Decimal
    ts: int  # ms

    @property
    def equity(self) -> Decimal:
        """Returns cash plus unrealized profit and loss."""
        return self.cash + self.upl


@dataclass
class Position:
    """A net (one-way mode) position: positive = long, negative = short."""

    market: str
    instrument: Instrument
    pos_id: str
    margin_mode: MarginMode
    c_time: int
    u_time: int
    pos: Decimal = Decimal(0)
    avg_px: Decimal = Decimal(0)
    pnl: Decimal = Decimal(0)  # realized from closing trades, before fees
    fee: Decimal = Decimal(0)  # accumulated, negative = paid
    trade_id: str = ""
    leverage: Decimal = Decimal(1)

    def upl(self, mark: Decimal) -> Decimal:
        """Returns the unrealized profit and loss at `mark`."""
        return (mark - self.avg_px) * self.pos

    def apply(self, signed_sz: Decimal, px: Decimal) -> Decimal:
        """Applies one fill (signed size) and returns the profit it realized."""
        realized = Decimal(0)
        if self.pos == 0 or (self.pos > 0) == (signed_sz > 0):
            total = self.pos + signed_sz
            self.avg_px = (self.avg_px * self.pos + px * signed_sz) / total
            self.pos = total
            return realized
        closing = min(abs(signed_sz), abs(self.pos))
        direction = Decimal(1) if self.pos > 0 else Decimal(-1)
        realized = (px - self.avg_px) * closing * direction
        self.pos += signed_sz
        if self.pos == 0:
            self.avg_px = Decimal(0)
        elif (self.pos > 0) != (direction > 0):
            self.avg_px = px  # flipped: the remainder opened at this fill's price
        self.pnl += realized
        return realized

    def view(self, mark: Decimal, now: int) -> PositionView:
        """Returns this position as it stands, valued at `mark`."""
        return PositionView(
            market=self.market, instrument=self.instrument, pos_id=self.pos_id,
            margin_mode=self.margin_mode, leverage=self.leverage, c_time=self.c_time,
            u_time=self.u_time, size=self.pos, avg_price=self.avg_px, pnl=self.pnl,
            fee=self.fee, trade_id=self.trade_id, mark=mark, upl=self.upl(mark), ts=now,
        )  # fmt: skip


@dataclass
class Account:
    """Cash in one settlement currency plus the positions it holds."""

    cash: Decimal
    ccy: str = "USDT"
    positions: dict[str, Position] = field(default_factory=dict)
