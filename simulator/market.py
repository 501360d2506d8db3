"""One simulated market: what it trades, its last price, 24 h statistics and seeded random walk."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

# Relative size of one random-walk step (standard deviation), about 2 bp of the price.
_STEP_SIGMA = Decimal("0.0002")

Kind = Literal["spot", "perpetual"]


def now_ms() -> int:
    """Returns the wall-clock time in Unix milliseconds."""
    return time.time_ns() // 1_000_000


def default_tick(base: str) -> Decimal:
    """Returns the simulator's price tick for a base currency: 0.1 for BTC, 0.01 for the others."""
    return Decimal("0.1") if base == "BTC" else Decimal("0.01")


@dataclass(frozen=True)
class Instrument:
    """What a market trades: base and quote (settlement) currency, spot or linear perpetual."""

    base: str
    quote: str
    kind: Kind
    tick: Decimal


@dataclass(frozen=True)
class Ticker:
    """A market's price and 24 h statistics at one moment (the mark price is the last price)."""

    market: str
    instrument: Instrument
    last: Decimal
    bid: Decimal
    ask: Decimal
    last_size: Decimal
    open24h: Decimal
    high24h: Decimal
    low24h: Decimal
    vol24h: Decimal  # in the base currency
    vol_quote24h: Decimal
    ts: int  # ms


class Market:
    """Price state of one market, named as its venue names it; every change goes via set_price."""

    def __init__(self, name: str, instrument: Instrument, start: Decimal, seed: int) -> None:
        self.name = name
        self.instrument = instrument
        self.tick = instrument.tick
        self.last = start
        self.ts = now_ms()
        self.open24h = start
        self.high24h = start
        self.low24h = start
        self.vol24h = Decimal(0)
        self.vol_quote24h = Decimal(0)
        self.last_size = Decimal(0)
        # A per-market generator keeps each market's path the same whatever the others do.
        self._rng = random.Random(f"{seed}:{name}")

    def set_price(self, price: Decimal) -> None:
        """Moves the last price and the 24 h high/low."""
        self.last = price
        self.ts = now_ms()
        self.high24h = max(self.high24h, price)
        self.low24h = min(self.low24h, price)

    def record_trade(self, size: Decimal, price: Decimal) -> None:
        """Adds one fill to the 24 h volume."""
        self.last_size = size
        self.vol24h += size
        self.vol_quote24h += size * price

    def next_walk_price(self) -> Decimal:
        """Returns the next random-walk price, quantized to the tick and never below one tick."""
        sigma = float(self.last * _STEP_SIGMA / self.tick)
        steps = round(self._rng.gauss(0.0, sigma))
        base = self.last.quantize(self.tick, rounding=ROUND_HALF_EVEN)
        return max(self.tick, base + self.tick * steps)

    def ticker(self) -> Ticker:
        """Returns the current price as a ticker: bid and ask one tick around the last price."""
        return Ticker(
            market=self.name,
            instrument=self.instrument,
            last=self.last,
            bid=max(self.last - self.tick, self.tick),
            ask=self.last + self.tick,
            last_size=self.last_size,
            open24h=self.open24h,
            high24h=self.high24h,
            low24h=self.low24h,
            vol24h=self.vol24h,
            vol_quote24h=self.vol_quote24h,
            ts=self.ts,
        )
