"""Trailing stop rules: follow the price's best level since activation (the high for a sell,
the low for a buy) and place the order once the price comes back by the callback.

    trailing: {market: BTC-USDT, account: main, side: sell, size: "0.5", callback: "1%",
               activation: "61000"}

A sell trails the high-water mark: it activates when the price is at or above `activation`
(at once without one) and fires at or below high - callback (a percentage of the high, or an
amount). A buy trails the low: it activates at or below `activation` and fires at or above
low + callback. The mark is kept, per ticker stream, in Redis with the stream (KindState):
it survives the stream moving to another worker.

With `hold: 5s` the price must stay at or beyond the stop level 5 s (exchange time) before it
fires; a tick back short of the stop level (a new best included) resets the hold. `expires`/
`for`: a trailing stop not fired by then expires. Such rules are evaluated on every tick of
their series (outside the quiet band, which the others keep).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, cast

import yaml

from rules.actions import Action, Offset
from rules.base import Series
from rules.emulated import EXPIRED, FIRED, EmulatedBook, EmulatedMatcher, EmulatedRule
from rules.order_keys import complete, positive, read_offset, read_order
from rules.reader import Reader
from rules.state import KindState

_MARK = "x:"  # a rule's state once active: "x:<its high (sell) or low (buy) so far>"
_INACTIVE = (Decimal(-1), Decimal(0))  # a rule with no mark yet
_NEVER = Decimal(-1)  # the mark of a rule activated by the current tick: any price moves it
_LOWEST, _HIGHEST = Decimal("-Infinity"), Decimal("Infinity")
_EMPTY = (_HIGHEST, _LOWEST)  # a band no price is inside
# Rule id -> the stop level a matcher just fired it at, taken by its tick_actions (called right
# after, in the same evaluation): the order's trigger, which a retry checks still holds.
_FIRED_LEVELS: dict[str, Decimal] = {}


class TrailingRule(EmulatedRule):
    """A trailing stop: fire when the price comes back `callback` from its best since
    `activation` (None: active at once)."""

    KIND: ClassVar[str] = "trailing"

    callback: Offset
    activation: Decimal | None = None

    def active(self, price: Decimal) -> bool:
        """Return whether `price` activates the rule (at or beyond its activation price)."""
        if self.activation is None:
            return True
        return price >= self.activation if self.side == "sell" else price <= self.activation

    def trigger_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the order at market; its trigger is the stop level `now` reached."""
        return (self.place(now, _FIRED_LEVELS.pop(self.id, None)),)

    def stop_level(self, mark: Decimal) -> Decimal:
        """Return the stop level for a high-water (sell) or low-water (buy) `mark`."""
        distance = self.callback.of(mark)
        return mark - distance if self.side == "sell" else mark + distance

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `trailing: {market, account, side, size, callback, activation?, venue?,
        source?, reduce_only?, limits?}`."""
        errors = len(reader.errors)
        read = read_order(reader, node, "trailing", ("callback", "activation"), ("callback",))
        if read is None:
            return None
        entries, fields = read
        if "callback" in entries:
            fields["callback"] = read_offset(reader, entries["callback"][1], "trailing.callback")
        if "activation" in entries:
            node = entries["activation"][1]
            fields["activation"] = positive(reader, node, "trailing.activation")
        if len(reader.errors) > errors or not complete(fields, entries, ("callback",)):
            return None
        return fields


_Trail = tuple[int, TrailingRule, str, bool]  # a rule's position, itself, its id, sells


class TrailingMatcher(EmulatedMatcher):
    """Moves each live rule's mark on the ticks of its series that move it; fires the ones
    called back.

    Per series a binding keeps the band of prices that change nothing (above every sell's stop
    level and below its mark, inside every buy's, short of every inactive rule's activation):
    a tick inside it costs one lookup and two comparisons, however many rules trail the series.
    """

    def __init__(self, rules: tuple[TrailingRule, ...]) -> None:
        super().__init__(rules)
        self.trailing = rules
        # Per series: (position, rule, rule id, sells) of each of its rules (those with hold,
        # expires or for: in `timed`, see TimedTrailingMatcher).
        self.by_series: dict[Series, list[_Trail]] = {}
        self.timed: dict[Series, list[_Trail]] = {}
        for position, rule in enumerate(rules):
            trail = (position, rule, rule.id, rule.side == "sell")
            series = self.timed if rule.options.gated else self.by_series
            series.setdefault(rule.series(), []).append(trail)
        # Rule id -> (mark, stop level), None once fired: this binding's parse of its state.
        self.marks: dict[str, tuple[Decimal, Decimal] | None] = {}
        # Series -> (low, high): a price strictly between them moves no mark and fires nothing.
        self.quiet: dict[Series, tuple[Decimal, Decimal]] = {}

    def bind(self, state: KindState) -> TrailingMatcher:
        """Return this matcher reading and writing one stream's state (marks parsed anew)."""
        bound = cast(TrailingMatcher, super().bind(state))
        bound.marks = {}
        bound.quiet = {}
        return bound

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Move the marks of the series' rules to `now`; return the rules it calls back."""
        series = (venue, market, source)
        band = self.quiet.get(series)
        if band is not None and band[0] < now < band[1]:
            return []
        trails = self.by_series.get(series)
        if not trails:
            return []
        found = self._move(trails, now)
        self.quiet[series] = self._band(trails)
        return found

    def _move(self, trails: list[_Trail], now: Decimal) -> list[int]:
        marks, found = self.marks, []
        for position, rule, key, sell in trails:
            if key in marks:
                held = marks[key]
            else:
                held = marks[key] = self._parse(rule)
            if held is None:
                continue  # fired
            mark, stop = held
            if mark < 0:  # not active yet
                if not rule.active(now):
                    continue
                mark = _NEVER
            if now > mark if sell else (now < mark or mark == _NEVER):
                stop = rule.stop_level(now)
                marks[key] = (now, stop)
                self.state.set(key, _MARK + format(now, "f"))
            elif now <= stop if sell else now >= stop:
                marks[key] = None
                self.state.set(key, FIRED)
                _FIRED_LEVELS[key] = stop
                found.append(position)
        return found

    def _band(self, trails: list[_Trail]) -> tuple[Decimal, Decimal]:
        """Return the prices that change none of `trails` (parsed by _move): strictly between
        the highest sell stop (buy mark) and the lowest sell mark (buy stop); an inactive
        rule's activation bounds it too."""
        low, high = _LOWEST, _HIGHEST
        marks = self.marks
        for _, rule, key, sell in trails:
            held = marks[key]
            if held is None:
                continue  # fired: nothing moves it
            mark, stop = held
            if mark < 0:
                if rule.activation is None:
                    return _EMPTY  # activates on any price (not after _move: kept safe)
                floor, ceiling = (_LOWEST, rule.activation) if sell else (rule.activation, _HIGHEST)
            else:
                floor, ceiling = (stop, mark) if sell else (mark, stop)
            if floor > low:
                low = floor
            if ceiling < high:
                high = ceiling
        return low, high

    def _parse(self, rule: TrailingRule) -> tuple[Decimal, Decimal] | None:
        """Return a rule's (mark, stop) from the state; None once fired; a mark below zero
        while not active yet."""
        held = self.state.get(rule.id)
        if held in (FIRED, EXPIRED):
            return None
        if held is None:
            return _INACTIVE
        mark = Decimal(held[len(_MARK) :])
        return mark, rule.stop_level(mark)


class TimedTrailingMatcher(TrailingMatcher):
    """A TrailingMatcher whose book has rules with hold, expires or for: those move on every
    tick of their series and ask the Gate whether they fire (or expire)."""

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return the untimed rules `now` calls back, and the timed ones it fires or expires."""
        found = super().candidates(venue, market, source, prev, now, ms)
        timed = self.timed.get((venue, market, source))
        if not timed:
            return found
        fired = self._timed(timed, now, ms)
        return sorted(found + fired) if fired else found

    def _timed(self, trails: list[_Trail], now: Decimal, ms: int) -> list[int]:
        marks, found = self.marks, []
        for position, rule, key, sell in trails:
            if key in marks:
                held = marks[key]
            else:
                held = marks[key] = self._parse(rule)
            if held is None:
                continue  # fired or expired
            if self.expired(rule, ms):
                marks[key] = None
                found.append(position)
                continue
            mark, stop = held
            if mark < 0:  # not active yet
                if not rule.active(now):
                    continue
                mark = _NEVER
            if now > mark if sell else (now < mark or mark == _NEVER):
                stop = rule.stop_level(now)
                marks[key] = (now, stop)
                self.state.set(key, _MARK + format(now, "f"))
            if self.held(key, rule, ms, now <= stop if sell else now >= stop):
                marks[key] = None
                self.state.set(key, FIRED)
                _FIRED_LEVELS[key] = stop
                found.append(position)
        return found


class TrailingBook(EmulatedBook[TrailingRule]):
    """Every trailing stop rule of a RuleSet."""

    def matcher(self) -> TrailingMatcher:  # type: ignore[override]
        """Return a fresh live matcher (no marks: the drain binds it to a stream's state)."""
        rules = tuple(self)
        if any(rule.options.gated for rule in rules):
            return TimedTrailingMatcher(rules)
        return TrailingMatcher(rules)
