"""Stop and take-profit rules: when the price reaches the trigger, place a market order, or a
limit order at `price` (a stop-limit; a limit take-profit).

    stop: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "59800"}
    take_profit: {market: BTC-USDT, account: main, side: sell, size: "0.5", trigger: "65000",
                  price: "64990"}

A sell stop fires at or below its trigger, a buy stop at or above; a take-profit the other way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

import yaml

from rules.actions import Action
from rules.emulated import (
    EmulatedBook,
    EmulatedMatcher,
    EmulatedRule,
    complete,
    positive,
    read_order,
)
from rules.reader import Reader
from rules.trigger import TriggerIndex, falls


class StopRule(EmulatedRule):
    """A stop: when the price reaches `trigger`, sell (or buy) at market, or limit at `price`."""

    KIND: ClassVar[str] = "stop"

    trigger: Decimal
    price: Decimal | None = None

    def tick_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the order: the trigger held at `now`."""
        return (self.place(now, self.trigger, self.price),)

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


class StopBook(EmulatedBook[StopRule]):
    """Every stop (or take-profit) rule of a RuleSet; the matcher indexes their triggers."""

    def matcher(self) -> TriggerMatcher:  # type: ignore[override]
        """Return a fresh live matcher (nothing fired: the drain binds it to a stream's state)."""
        rules = tuple(self)
        entries = [
            (rule.series(), falls(rule.KIND, rule.side), rule.trigger, position)
            for position, rule in enumerate(rules)
        ]
        return TriggerMatcher(rules, TriggerIndex(entries))


class TakeProfitBook(StopBook):
    """Every take-profit rule of a RuleSet."""
