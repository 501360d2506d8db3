"""One simulated market: its last price, 24 h statistics and seeded random walk."""

from __future__ import annotations

import random
import time
from decimal import ROUND_HALF_EVEN, Decimal

# Relative size of one random-walk step (standard deviation), about 2 bp of the price.
_STEP_SIGMA = Decimal("0.0002")


def now_ms() -> int:
    """Returns the wall-clock time in Unix milliseconds, OKX's `ts` unit."""
    return time.time_ns() // 1_000_000


def tick_size(inst_id: str) -> Decimal:
    """Returns the price tick of a market: 0.1 for BTC markets, 0.01 for the others."""
    return Decimal("0.1") if inst_id.startswith("BTC-") else Decimal("0.01")


def inst_type(inst_id: str, td_mode: str = "cash") -> str:
    """Returns the OKX instType of a market: SWAP for perpetuals, else SPOT (cash) or MARGIN."""
    if inst_id.endswith("-SWAP"):
        return "SWAP"
    return "SPOT" if td_mode == "cash" else "MARGIN"


def quote_ccy(inst_id: str) -> str:
    """Returns the quote (fee) currency of an instId such as BTC-USDT or BTC-USDT-SWAP."""
    parts = inst_id.split("-")
    return parts[1] if len(parts) > 1 else "USDT"


class Market:
    """Price state of one instId; every change goes through `set_price`."""

    def __init__(self, inst_id: str, start: Decimal, seed: int) -> None:
        self.inst_id = inst_id
        self.tick = tick_size(inst_id)
        self.last = start
        self.ts = now_ms()
        self.open24h = start
        self.high24h = start
        self.low24h = start
        self.vol24h = Decimal(0)
        self.vol_ccy24h = Decimal(0)
        self.last_sz = Decimal(0)
        # A per-market generator keeps each market's path the same whatever the others do.
        self._rng = random.Random(f"{seed}:{inst_id}")

    def set_price(self, price: Decimal) -> None:
        """Moves the last price and the 24 h high/low."""
        self.last = price
        self.ts = now_ms()
        self.high24h = max(self.high24h, price)
        self.low24h = min(self.low24h, price)

    def record_trade(self, size: Decimal, price: Decimal) -> None:
        """Adds one fill to the 24 h volume."""
        self.last_sz = size
        self.vol24h += size
        self.vol_ccy24h += size * price

    def next_walk_price(self) -> Decimal:
        """Returns the next random-walk price, quantized to the tick and never below one tick."""
        sigma = float(self.last * _STEP_SIGMA / self.tick)
        steps = round(self._rng.gauss(0.0, sigma))
        base = self.last.quantize(self.tick, rounding=ROUND_HALF_EVEN)
        return max(self.tick, base + self.tick * steps)
