"""The one simulated account: USDT cash and a net position per instId."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class Position:
    """A net (one-way mode) position: positive = long, negative = short."""

    inst_id: str
    inst_type: str
    pos_id: str
    mgn_mode: str
    c_time: int
    u_time: int
    pos: Decimal = Decimal(0)
    avg_px: Decimal = Decimal(0)
    pnl: Decimal = Decimal(0)  # realized from closing trades, before fees
    fee: Decimal = Decimal(0)  # accumulated, negative = paid
    trade_id: str = ""
    lever: str = "1"

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


@dataclass
class Account:
    """Cash in one settlement currency plus the positions it holds."""

    cash: Decimal
    ccy: str = "USDT"
    positions: dict[str, Position] = field(default_factory=dict)

    def upl(self, marks: dict[str, Decimal]) -> Decimal:
        """Returns the unrealized profit and loss of all positions."""
        return sum(
            (p.upl(marks[p.inst_id]) for p in self.positions.values() if p.pos),
            start=Decimal(0),
        )

    def equity(self, marks: dict[str, Decimal]) -> Decimal:
        """Returns cash plus unrealized profit and loss."""
        return self.cash + self.upl(marks)
