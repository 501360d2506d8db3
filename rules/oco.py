"""OCO rules: a take-profit and a stop on one order; the first leg whose trigger the price
reaches places its order, and the other leg is canceled.

    oco:
      market: BTC-USDT
      account: main
      side: sell
      size: "0.5"
      take_profit: {trigger: "65000", price: "64990"}   # price: a limit order (else market)
      stop: {trigger: "59000"}

Selling, the take-profit's trigger is above the stop's; buying, below. With `hold: 5s` each
leg's trigger must hold 5 s on its own (a tick short of a leg's trigger resets that leg's
hold); `expires`/`for` expire the whole order, both legs, if neither fired by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import yaml

from rules.actions import Action
from rules.base import text
from rules.emulated import LEG_NAMES, EmulatedBook, EmulatedRule
from rules.order_keys import complete, positive, read_order
from rules.reader import Reader
from rules.stop import TriggerMatcher, trigger_matcher
from rules.trigger import reached

LEG_KEYS = ("trigger", "price")


@dataclass(frozen=True)
class Leg:
    """One leg of an OCO: its trigger, and a limit price (None: a market order)."""

    trigger: Decimal
    price: Decimal | None = None


class OcoRule(EmulatedRule):
    """Two legs, a take-profit and a stop: the first reached places its order, the other is
    canceled."""

    KIND: ClassVar[str] = "oco"

    take_profit: Leg
    stop: Leg

    def trigger_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the leg `now` reaches (the take-profit's when both would: they cannot, if the
        file loaded), canceling the other."""
        if reached("take_profit", self.side, self.take_profit.trigger, now):
            leg, name, other = self.take_profit, "take_profit", "stop"
        else:
            leg, name, other = self.stop, "stop", "take_profit"
        return (self.place(now, leg.trigger, leg.price, leg=name, cancels=other),)

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `oco: {market, account, side, size, take_profit: {trigger, price?},
        stop: {trigger, price?}, venue?, source?, reduce_only?, limits?}`."""
        errors = len(reader.errors)
        read = read_order(reader, node, "oco", ("take_profit", "stop"), ("take_profit", "stop"))
        if read is None:
            return None
        entries, fields = read
        for name in ("take_profit", "stop"):
            if name in entries:
                fields[name] = _leg(reader, entries[name][1], f"oco.{name}")
        if len(reader.errors) > errors or not complete(fields, entries, ("take_profit", "stop")):
            return None
        tp, stop, side = fields["take_profit"], fields["stop"], fields["side"]
        if not (tp.trigger > stop.trigger if side == "sell" else tp.trigger < stop.trigger):
            where = "above" if side == "sell" else "below"
            reader.error(
                entries["take_profit"][1],
                f"oco: {side}ing, the {LEG_NAMES['take_profit']} trigger "
                f"({text(tp.trigger)}) must be {where} the stop's ({text(stop.trigger)})",
            )
            return None
        return fields


def _leg(reader: Reader, node: yaml.Node, what: str) -> Leg | None:
    entries = reader.mapping(node, what, LEG_KEYS, ("trigger",))
    if entries is None or "trigger" not in entries:
        return None
    trigger = positive(reader, entries["trigger"][1], f"{what}.trigger")
    price = positive(reader, entries["price"][1], f"{what}.price") if "price" in entries else None
    if trigger is None or ("price" in entries and price is None):
        return None
    return Leg(trigger, price)


class OcoBook(EmulatedBook[OcoRule]):
    """Every OCO rule of a RuleSet; the matcher indexes both legs' triggers."""

    def matcher(self) -> TriggerMatcher:  # type: ignore[override]
        """Return a fresh live matcher over both legs of every rule."""
        return trigger_matcher(tuple(self), _legs)


def _legs(rule: OcoRule) -> list[tuple[str, Decimal]]:
    return [("take_profit", rule.take_profit.trigger), ("stop", rule.stop.trigger)]
