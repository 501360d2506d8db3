"""Fixed trigger levels per price series, for stop, take-profit and OCO rules.

A level fires when the price reaches it: at or below it (a sell stop, a buy take-profit), or at
or above it (a buy stop, a sell take-profit). Per series the levels of each direction are
sorted, so a tick finds the rules it reaches by bisection, O(log n + k).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from decimal import Decimal

from rules.base import Series, first_by_market
from watcher.events import Side

Entry = tuple[Series, bool, Decimal, int]  # series, fires at or below, level, rule position
_Runs = tuple[Decimal, Decimal, list[Decimal], list[int], list[Decimal], list[int]]
_NEVER_LOW, _NEVER_HIGH = Decimal("-Infinity"), Decimal("Infinity")


def falls(kind: str, side: Side) -> bool:
    """Return whether a trigger fires when the price falls to it: a stop that sells, or a
    take-profit that buys (a stop that buys and a take-profit that sells fire rising)."""
    return (kind == "stop") == (side == "sell")


def reached(kind: str, side: Side, level: Decimal, price: Decimal) -> bool:
    """Return whether `price` reaches a trigger `level` of `kind` (stop or take_profit)."""
    return price <= level if falls(kind, side) else price >= level


class TriggerIndex:
    """The trigger levels of a set of rules, by series and direction, sorted."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        grouped: dict[Series, tuple[list[tuple[Decimal, int]], list[tuple[Decimal, int]]]] = {}
        for series, down, level, position in entries:
            below, above = grouped.setdefault(series, ([], []))
            (below if down else above).append((level, position))
        # Per series: the highest level fired by a fall and the lowest fired by a rise (a price
        # strictly between them reaches nothing: the usual tick costs two comparisons), then
        # each direction's levels and positions, ascending.
        self._series: dict[Series, _Runs] = {}
        for series, (below, above) in grouped.items():
            below.sort()
            above.sort()
            self._series[series] = (
                below[-1][0] if below else _NEVER_LOW, above[0][0] if above else _NEVER_HIGH,
                [level for level, _ in below], [p for _, p in below],
                [level for level, _ in above], [p for _, p in above],
            )  # fmt: skip
        self._markets = first_by_market(self._series)

    def reached(self, venue: str, market: str, source: str, price: Decimal) -> list[int]:
        """Return the positions whose level `price` reaches (a position may come twice)."""
        first = self._markets.get(market)
        if first is None:
            return []
        if first[0] == venue and first[1] == source:
            runs = first[2]
        else:
            other = self._series.get((venue, market, source))
            if other is None:
                return []
            runs = other
        highest_below, lowest_above, below_levels, below, above_levels, above = runs
        if highest_below < price < lowest_above:
            return []
        found = below[bisect_left(below_levels, price) :]  # levels at or above the price
        top = bisect_right(above_levels, price)  # levels at or below it
        if top:
            found = found + above[:top]
        return found
