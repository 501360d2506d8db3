"""Stop and take-profit rules: when the price reaches the trigger, place a market order, or a
limit order at `price` (a stop-limit; a limit take-profit).

    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    take_profit: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "65000",
                  price: "64990"}

A sell stop fires at or below its trigger, a buy stop at or above; a take-profit the other way.
With `hold: 5s` it fires on the first tick at or beyond the trigger 5 s (exchange time) after
the tick that first reached it, if every tick in between reached it too; `expires`/`for`: an
order still armed then expires (see rules/emulated.py).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar, TypeVar, cast

import yaml

from rules.actions import Action
from rules.base import Series
from rules.emulated import FIRED, EmulatedBook, EmulatedMatcher, EmulatedRule
from rules.order_keys import complete, positive, read_order
from rules.reader import Reader
from rules.state import KindState
from rules.trigger import Entry, TriggerIndex, falls


class StopRule(EmulatedRule):
    """A stop: when the price reaches `trigger`, sell (or buy) at market, or limit at `price`."""

    KIND: ClassVar[str] = "stop"

    trigger: Decimal
    price: Decimal | None = None

    def trigger_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the order: the trigger held at `now`."""
        return (self.place(now, self.trigger, self.price),)

    def trigger_level(self) -> Decimal | None:
        """Return the trigger."""
        return self.trigger

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `<kind>: {market, account, side, size, trigger, price?, venue?, source?,
        reduce_only?, limits?}`."""
        return read_triggered(cls.KIND, reader, node)


class TakeProfitRule(StopRule):
    """A take-profit: when the price reaches `trigger` (rising for a sell), sell (or buy) at
    market, or limit at `price`."""

    KIND: ClassVar[str] = "take_profit"


def read_triggered(kind: str, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
    """Read a stop's or take-profit's mapping."""
    errors = len(reader.errors)
    read = read_order(reader, node, kind, ("trigger", "price"), ("trigger",))
    if read is None:
        return None
    entries, fields = read
    if "trigger" in entries:
        fields["trigger"] = positive(reader, entries["trigger"][1], f"{kind}.trigger")
    if "price" in entries:
        fields["price"] = positive(reader, entries["price"][1], f"{kind}.price")
    if len(reader.errors) > errors or not complete(fields, entries, ("trigger",)):
        return None
    return fields


class TriggerMatcher(EmulatedMatcher):
    """Fires each rule once, on the first tick that reaches one of its trigger levels."""

    def __init__(self, rules: tuple[EmulatedRule, ...], index: TriggerIndex) -> None:
        super().__init__(rules)
        self.index = index

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return the rules `now` reaches that have not fired yet (marking them fired)."""
        reached = self.index.reached(venue, market, source, now)
        if not reached:
            return []
        rules = self.rules
        return sorted({p for p in reached if self.fire(rules[p])})


R = TypeVar("R", bound=EmulatedRule)
_LOWEST, _HIGHEST = Decimal("-Infinity"), Decimal("Infinity")
_NEVER_MS = 2**63  # later than every deadline
_EMPTY = (_HIGHEST, _LOWEST, 0)  # a band no tick is inside
# A timed rule: its position, itself, its legs' (hold key, falls, trigger level).
Timed = tuple[int, EmulatedRule, tuple[tuple[str, bool, Decimal], ...]]


class TimedTriggerMatcher(TriggerMatcher):
    """A TriggerMatcher whose book has rules with hold, expires or for: those are asked of the
    Gate on the ticks of their series (a tick short of the trigger resets a hold, one after
    the deadline expires the order); the others keep the index.

    Per series a binding keeps the band of ticks that change nothing for the timed rules: no
    hold running, the price strictly short of every armed leg's trigger, the time before every
    deadline. A tick inside it costs one lookup and three comparisons.
    """

    def __init__(
        self,
        rules: tuple[EmulatedRule, ...],
        index: TriggerIndex,
        timed: dict[Series, list[Timed]],
    ) -> None:
        super().__init__(rules, index)
        self.timed = timed
        # Series -> (low, high, until): a tick strictly between low and high before `until`
        # changes no timed rule's state and fires none.
        self.quiet: dict[Series, tuple[Decimal, Decimal, int]] = {}

    def bind(self, state: KindState) -> TimedTriggerMatcher:
        """Return this matcher reading and writing one stream's state (its bands anew)."""
        bound = cast(TimedTriggerMatcher, super().bind(state))
        bound.quiet = {}
        return bound

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return the untimed rules `now` reaches, and the timed ones it fires or expires."""
        found = super().candidates(venue, market, source, prev, now, ms)
        series = (venue, market, source)
        band = self.quiet.get(series)
        if band is not None and band[0] < now < band[1] and ms < band[2]:
            return found
        timed = self.timed.get(series)
        if not timed:
            return found
        state = self.state
        fired = []
        for position, rule, legs in timed:
            if state.get(rule.id) is not None:
                continue  # fired or expired
            if self.expired(rule, ms):
                fired.append(position)
                continue
            for key, down, level in legs:
                if self.held(key, rule, ms, now <= level if down else now >= level):
                    state.set(rule.id, FIRED)
                    fired.append(position)
                    break
        self.quiet[series] = self._band(timed)
        return sorted(found + fired) if fired else found

    def _band(self, timed: list[Timed]) -> tuple[Decimal, Decimal, int]:
        """Return the ticks that change none of `timed` (after a tick evaluated them all)."""
        state = self.state
        low, high, until = _LOWEST, _HIGHEST, _NEVER_MS
        for _, rule, legs in timed:
            if state.get(rule.id) is not None:
                continue  # fired or expired: nothing changes it
            options = rule.options
            if options.expires_ms is not None:
                until = min(until, options.expires_ms)
            elif options.for_ms is not None:
                first = state.get(rule.id + "|f")  # set by the tick just evaluated
                if first is None:
                    return _EMPTY
                until = min(until, int(first) + options.for_ms)
            for key, down, level in legs:
                if state.get(key + "|h") is not None:
                    return _EMPTY  # a hold is running: every tick holds or resets it
                if down:
                    low = max(low, level)
                else:
                    high = min(high, level)
        return low, high, until


def trigger_matcher(
    rules: tuple[R, ...], legs: Callable[[R], list[tuple[str, Decimal]]]
) -> TriggerMatcher:
    """Return the matcher of rules whose `legs` are (name, trigger level): the rules with hold,
    expires or for apart (a TimedTriggerMatcher) when there are any."""
    entries: list[Entry] = []
    timed: dict[Series, list[Timed]] = {}
    for position, rule in enumerate(rules):
        if rule.options.gated:
            keyed = tuple(
                (rule.id if len(legs(rule)) == 1 else f"{rule.id}.{name}", falls(name, rule.side),
                 level)
                for name, level in legs(rule)
            )  # fmt: skip
            timed.setdefault(rule.series(), []).append((position, rule, keyed))
            continue
        entries.extend(
            (rule.series(), falls(name, rule.side), level, position) for name, level in legs(rule)
        )
    index = TriggerIndex(entries)
    return TimedTriggerMatcher(rules, index, timed) if timed else TriggerMatcher(rules, index)


class StopBook(EmulatedBook[StopRule]):
    """Every stop (or take-profit) rule of a RuleSet; the matcher indexes their triggers."""

    def matcher(self) -> TriggerMatcher:  # type: ignore[override]
        """Return a fresh live matcher (nothing fired: the drain binds it to a stream's state)."""
        return trigger_matcher(tuple(self), _legs)


def _legs(rule: StopRule) -> list[tuple[str, Decimal]]:
    return [(rule.KIND, rule.trigger)]


class TakeProfitBook(StopBook):
    """Every take-profit rule of a RuleSet."""
