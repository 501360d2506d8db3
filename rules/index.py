"""The hot-path index: per (venue, market, source), price rules' levels sorted for bisection.

A tick (prev -> now) selects, per operator, one contiguous run of sorted levels:
above: level < now; below: level > now; crosses_up: prev < level <= now;
crosses_down: now <= level < prev. So finding the rules that fire costs O(log n + k).

Each run is two parallel arrays, float keys (array "d") and positions (array "q"): 16 bytes per
rule. Bisection runs on the contiguous float keys: Decimal -> float rounding is monotonic, so a
float comparison is exact except between levels whose floats tie with the price's float, and
that (usually empty) window is settled on the exact levels, read from the PriceBook.
The index is built from the book's columns: no PriceRule is built for it.

Most ticks fire nothing, and cost two float comparisons: each series keeps a quiet band, the
open interval between the live levels nearest the last price that fired nothing (above's
lowest, below's highest, the crossings' nearest on each side). A tick whose previous and new
prices both lie strictly inside it fires no rule: above and below need the new price beyond
a level, a crossing needs a level between the two prices. The band is computed from the live
levels when a tick falls outside it and fires nothing; it stays true as rules retire (the live
levels only thin out), so any band once computed may be kept, by any thread.

Rules with options (hold, rearm, expires, for: rules/timing.py) stay out of the runs: a
GatedPriceIndex asks each of them, on every tick of its series, through its Gate (their timers
in the stream's kind state). A series without such rules pays nothing for them; a series with
them has no quiet band.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from copy import copy
from decimal import Decimal
from math import inf

from rules.base import first_by_market
from rules.book import PriceBook
from rules.gate import Gate, State
from rules.price import OPS, PriceRule

# Retired entries are dropped from a run when a tick walks over at least this many of them:
# a tick never pays for more dead entries than this, and the rest of the run moves by memmove.
_COMPACT_AT = 16
# A quiet band's edge is the nearest live level, looked for past at most this many retired ones
# (beyond them, the last one looked at: a narrower band, still true).
_BAND_WALK = 32
# No tick is inside it: a series' band before its first quiet tick (with gated rules: always).
_NO_BAND = (inf, -inf, None)


class _Run:
    """One operator's rules of one price series, ascending by level."""

    __slots__ = ("keys", "level", "positions")

    def __init__(
        self, positions: array[int], keys: array[float], level: Callable[[int], Decimal]
    ) -> None:
        # Stable sorts, so ties keep rule order: by float, then by exact level where floats tie.
        order = sorted(positions, key=keys.__getitem__)
        self.keys = array("d", [keys[p] for p in order])
        start, end = 0, len(order)
        while start < end:
            stop = bisect_right(self.keys, self.keys[start], start)
            if stop - start > 1:
                order[start:stop] = sorted(order[start:stop], key=level)
            start = stop
        self.positions = array("q", order)
        self.level = level

    def left(self, price: Decimal, key: float) -> int:
        """Return the first index whose level is >= price."""
        keys = self.keys
        lo = bisect_left(keys, key)
        if lo < len(keys) and keys[lo] == key:
            hi = bisect_right(keys, key, lo)
            return bisect_left(self.positions, price, lo, hi, key=self.level)
        return lo

    def right(self, price: Decimal, key: float) -> int:
        """Return the first index whose level is > price."""
        keys = self.keys
        lo = bisect_left(keys, key)
        if lo < len(keys) and keys[lo] == key:
            hi = bisect_right(keys, key, lo)
            return bisect_right(self.positions, price, lo, hi, key=self.level)
        return lo

    def first_live(self, start: int, alive: bytearray) -> float:
        """Return the key of the first live entry from `start` on (+inf: none)."""
        positions, stop = self.positions, min(len(self.keys), start + _BAND_WALK)
        for i in range(start, stop):
            if alive[positions[i]]:
                return self.keys[i]
        return self.keys[stop] if stop < len(self.keys) else inf

    def last_live(self, stop: int, alive: bytearray) -> float:
        """Return the key of the last live entry before `stop` (-inf: none)."""
        positions, start = self.positions, max(0, stop - _BAND_WALK)
        for i in range(stop - 1, start - 1, -1):
            if alive[positions[i]]:
                return self.keys[i]
        return self.keys[start - 1] if start > 0 else -inf

    def collect(self, lo: int, hi: int, alive: bytearray, found: list[int]) -> None:
        """Append the live positions of [lo, hi); drop its dead entries if there are many."""
        if lo >= hi:
            return
        positions = self.positions[lo:hi]
        live = [p for p in positions if alive[p]]
        found.extend(live)
        if hi - lo - len(live) >= _COMPACT_AT:
            keys = self.keys[lo:hi]
            self.keys[lo:hi] = array("d", [keys[i] for i, p in enumerate(positions) if alive[p]])
            self.positions[lo:hi] = array("q", live)


Gated = list[tuple[int, PriceRule]]  # a series' rules with options: (position, rule)
Runs = tuple[_Run | None, _Run | None, _Run | None, _Run | None]  # by operator, in OPS order
Band = tuple[float, float, Decimal | None]  # low and high keys (open), a price inside or None


class _Series:
    """One price series' runs, its rules with options, and its quiet band (low, high, and the
    last price seen inside it, so that the next tick's previous price is known inside without a
    float conversion). The band is one tuple, read and replaced whole: threads never see half of
    one."""

    __slots__ = ("band", "gated", "runs")

    def __init__(self, runs: Runs, gated: Gated | None) -> None:
        self.runs, self.gated = runs, gated
        self.band: Band = _NO_BAND


class PriceIndex:
    """Finds the live price rules a tick fires, by bisection on sorted levels."""

    def __init__(self, rules: PriceBook | Sequence[PriceRule], gated: Sequence[int] = ()) -> None:
        book = rules if isinstance(rules, PriceBook) else PriceBook.of(rules)
        ops = len(OPS)
        # Arrays, not lists: a million positions as int objects would fragment the heap.
        runs = [array("q") for _ in range(len(book.series) * ops)]
        by_series: dict[int, Gated] = {}
        if gated:
            outside = bytearray(len(book))
            for position in gated:
                outside[position] = 1
                by_series.setdefault(book.series_of[position], []).append(
                    (position, book[position])
                )
            pairs = zip(book.series_of, book.ops, outside, strict=True)
            for position, (series, op, out) in enumerate(pairs):
                if not out:
                    runs[series * ops + op].append(position)
        else:
            for position, (series, op) in enumerate(zip(book.series_of, book.ops, strict=True)):
                runs[series * ops + op].append(position)
        keys, level = book.keys, book.level

        def of(s: int, op: int) -> _Run | None:
            found = runs[s * ops + op]
            return _Run(found, keys, level) if found else None

        self._series: dict[tuple[str, str, str], _Series] = {
            series: _Series((of(s, 0), of(s, 1), of(s, 2), of(s, 3)), by_series.get(s))
            for s, series in enumerate(book.series)
        }
        self._markets = first_by_market(self._series)
        self._alive = bytearray(b"\x01") * len(book)
        self._gate: Gate | None = Gate() if gated else None

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return, ascending, the positions of the live rules that fire on this tick: whose
        check(prev, now) is True, and for rules with options, whose gate admits it at `ms`."""
        first = self._markets.get(market)
        if first is None:
            return []
        if first[0] == venue and first[1] == source:
            series = first[2]
        else:
            other = self._series.get((venue, market, source))
            if other is None:
                return []
            series = other
        low, high, inside = series.band
        key = float(now)
        if low < key < high and (prev is inside or prev is None or low < float(prev) < high):
            series.band = (low, high, now)
            return []
        (above, below, up, down), gated = series.runs, series.gated
        alive = self._alive
        found: list[int] = []
        if above is not None:
            above.collect(0, above.left(now, key), alive, found)
        if below is not None:
            below.collect(below.right(now, key), len(below.keys), alive, found)
        if prev is not None:
            if up is not None and prev < now:
                up.collect(up.right(prev, float(prev)), up.right(now, key), alive, found)
            elif down is not None and prev > now:
                down.collect(down.left(now, key), down.left(prev, float(prev)), alive, found)
        if gated is not None:
            self._admit(gated, prev, now, ms, found)
        elif not found:
            series.band = self._band(series.runs, now, key)
        found.sort()
        return found

    def _band(self, runs: Runs, now: Decimal, key: float) -> Band:
        """Return the quiet band around a price that fired nothing: every live above level is
        at or above it (none fired), every live below level at or below it; the band reaches
        to the nearest of these and of the crossing levels on either side."""
        above, below, up, down = runs
        alive = self._alive
        low, high = -inf, inf
        if above is not None:
            high = above.first_live(above.left(now, key), alive)
        if below is not None:
            low = below.last_live(below.right(now, key), alive)
        for run in (up, down):
            if run is not None:
                split = run.right(now, key)  # levels <= now before it, > now from it
                high = min(high, run.first_live(split, alive))
                low = max(low, run.last_live(split, alive))
        return low, high, now if low < key < high else None

    def _admit(
        self, gated: Gated, prev: Decimal | None, now: Decimal, ms: int, found: list[int]
    ) -> None:
        """Ask the gate about each live rule with options of the tick's series."""
        gate, alive = self._gate, self._alive
        if gate is None:
            return
        for position, rule in gated:
            if not alive[position]:
                continue
            if gate.admit(
                rule.id,
                rule.options,
                ms,
                fires=rule.check(prev, now),
                holds=rule.holds(now),
                rearmed=rule.rearmed(now),
            ):
                found.append(position)
            elif gate.expired(rule.id, rule.options, ms):
                alive[position] = 0  # past its time: never asked again

    def retire(self, position: int) -> None:
        """Stop returning a rule that can never fire again (a once-rule already claimed)."""
        self._alive[position] = 0

    def entries(self) -> int:
        """Return how many entries the runs hold: live ones plus retired ones not yet dropped."""
        return sum(len(run.keys) for s in self._series.values() for run in s.runs if run)

    def alive(self, position: int) -> bool:
        """Return whether a rule is still live in this index."""
        return bool(self._alive[position])


class GatedPriceIndex(PriceIndex):
    """A PriceIndex with rules with options: it keeps their timers per stream (bind)."""

    def bind(self, state: State) -> GatedPriceIndex:
        """Return this index asking its gated rules through `state` (one stream's kind state),
        sharing the runs and what is retired."""
        bound = copy(self)
        bound._gate = Gate(state)
        return bound
