"""The hot-path index: per (venue, market, source), price rules' levels sorted for bisection.

A tick (prev -> now) selects, per operator, one contiguous run of sorted levels:
above: level < now; below: level > now; crosses_up: prev < level <= now;
crosses_down: now <= level < prev. So finding the rules that fire costs O(log n + k).

Each run is three parallel arrays: float keys (array "d"), the exact Decimal levels, positions
(array "q"), about 25 bytes per rule. Bisection runs on the contiguous float keys: Decimal ->
float rounding is monotonic, so a float comparison is exact except between levels whose floats
tie with the price's float, and that (usually empty) window is settled on the Decimals.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from decimal import Decimal

from rules.price import OPS, PriceRule

# Retired entries are dropped from a run when a tick walks over at least this many of them:
# a tick never pays for more dead entries than this, and the rest of the run moves by memmove.
_COMPACT_AT = 16


class _Run:
    """One operator's rules of one price series, ascending by level."""

    __slots__ = ("keys", "levels", "positions")

    def __init__(self, levels: list[Decimal], positions: list[int]) -> None:
        order = sorted(range(len(levels)), key=levels.__getitem__)  # stable: ties keep rule order
        self.levels = [levels[i] for i in order]
        self.keys = array("d", [float(level) for level in self.levels])
        self.positions = array("q", [positions[i] for i in order])

    def left(self, price: Decimal, key: float) -> int:
        """Return the first index whose level is >= price."""
        keys = self.keys
        lo = bisect_left(keys, key)
        if lo < len(keys) and keys[lo] == key:
            return bisect_left(self.levels, price, lo, bisect_right(keys, key, lo))
        return lo

    def right(self, price: Decimal, key: float) -> int:
        """Return the first index whose level is > price."""
        keys = self.keys
        lo = bisect_left(keys, key)
        if lo < len(keys) and keys[lo] == key:
            return bisect_right(self.levels, price, lo, bisect_right(keys, key, lo))
        return lo

    def collect(self, lo: int, hi: int, alive: bytearray, found: list[int]) -> None:
        """Append the live positions of [lo, hi); drop its dead entries if there are many."""
        if lo >= hi:
            return
        positions = self.positions[lo:hi]
        live = [p for p in positions if alive[p]]
        found.extend(live)
        if hi - lo - len(live) >= _COMPACT_AT:
            keep = [i for i, p in enumerate(positions) if alive[p]]
            levels = self.levels[lo:hi]
            self.levels[lo:hi] = [levels[i] for i in keep]
            self.keys[lo:hi] = array("d", [float(levels[i]) for i in keep])
            self.positions[lo:hi] = array("q", live)


class PriceIndex:
    """Finds the live price rules a tick fires, by bisection on sorted levels."""

    def __init__(self, rules: Sequence[PriceRule]) -> None:
        groups: dict[tuple[str, str, str], dict[str, tuple[list[Decimal], list[int]]]] = {}
        for position, rule in enumerate(rules):
            ops = groups.setdefault((rule.venue, rule.market, rule.source), {})
            run = ops.get(rule.op)
            if run is None:
                run = ops[rule.op] = ([], [])
            run[0].append(rule.level)
            run[1].append(position)
        self._series: dict[tuple[str, str, str], tuple[_Run | None, ...]] = {
            series: tuple(_Run(*ops[op]) if op in ops else None for op in OPS)
            for series, ops in groups.items()
        }
        self._alive = bytearray(b"\x01") * len(rules)

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal
    ) -> list[int]:
        """Return, ascending, the positions of the live rules whose check(prev, now) is True."""
        series = self._series.get((venue, market, source))
        if series is None:
            return []
        above, below, up, down = series
        alive = self._alive
        found: list[int] = []
        key = float(now)
        if above is not None:
            above.collect(0, above.left(now, key), alive, found)
        if below is not None:
            below.collect(below.right(now, key), len(below.levels), alive, found)
        if prev is not None:
            if up is not None and prev < now:
                up.collect(up.right(prev, float(prev)), up.right(now, key), alive, found)
            elif down is not None and prev > now:
                down.collect(down.left(now, key), down.left(prev, float(prev)), alive, found)
        found.sort()
        return found

    def retire(self, position: int) -> None:
        """Stop returning a rule that can never fire again (a once-rule already claimed)."""
        self._alive[position] = 0

    def entries(self) -> int:
        """Return how many entries the runs hold: live ones plus retired ones not yet dropped."""
        return sum(len(run.levels) for runs in self._series.values() for run in runs if run)

    def alive(self, position: int) -> bool:
        """Return whether a rule is still live in this index."""
        return bool(self._alive[position])
