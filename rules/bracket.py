"""Bracket rules: once an entry fills, arm a take-profit and a stop around it (an OCO sized
to what the entry filled, its levels offsets from the entry's average price).

    bracket: {market: BTC-USDT, account: main, entry: buy, take_profit: "2%", stop: "1%"}

Every fill of the account's `entry` side in the market (of orders whose client id starts with
`client_id_prefix`, when given) arms the exits, or grows them: they close what the entries
filled since they were last armed. Buying, the take-profit sells at or above entry + its
offset and the stop at or below entry - its offset; selling short, the other way round. The
first exit the price reaches places its order (market) and the other is canceled; the next
entry fill arms them again. With `hold: 5s` an exit's trigger must hold 5 s (exchange time,
each exit on its own) before it fires. `expires`/`for` are refused: a bracket is armed anew by
each entry fill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar, Literal

import yaml

from rules.account import SIDES
from rules.actions import Action, ArmBracket, Offset
from rules.base import Series, text
from rules.emulated import EmulatedBook, EmulatedMatcher, EmulatedRule
from rules.order import CLIENT_ID_PREFIX, CLIENT_ID_PREFIX_RULE
from rules.order_keys import complete, read_offset, read_order
from rules.reader import Reader
from rules.trigger import reached
from watcher.events import Event, Fill, OrderArming

_ARMED = "a:"  # "a:<arming>|<take-profit level>|<stop level>": armed exits
_DONE = "f:"  # "f:<arming>": that arming's exit has fired


class BracketRule(EmulatedRule):
    """After each fill of the entry side, exits at take_profit above and stop below the
    entry's average price (the other way round for a short), sized to the entries' fills."""

    KIND: ClassVar[str] = "bracket"

    entry: Literal["buy", "sell"]
    take_profit: Offset
    stop: Offset
    client_id_prefix: str | None = None

    def entered(self, fill: Fill) -> bool:
        """Return whether `fill` is one of the entries this bracket protects."""
        return (
            fill.venue == self.venue
            and fill.account == self.account
            and fill.market == self.market
            and fill.side == self.entry
            and (
                self.client_id_prefix is None
                or fill.client_order_id.startswith(self.client_id_prefix)
            )
        )

    def option_problem(self, option: str) -> str:
        """Take quiet and hold; refuse rearm, expires and for: each entry fill arms it anew."""
        if option in ("expires", "for"):
            return f"a bracket is armed anew by each entry fill: {option} does not apply"
        return super().option_problem(option)

    def matches(self, event: Event) -> bool:
        """Return whether `event` is an entry fill, or about this bracket's exits."""
        if isinstance(event, Fill):
            return self.entered(event)
        return super().matches(event)

    def subject(self, event: Event) -> str | None:
        """Return one trade (a backfilled repeat of an entry fill arms nothing twice)."""
        if isinstance(event, Fill):
            return f"{self.id}:{event.venue}:{event.account}:{event.market}:{event.trade_id}"
        return super().subject(event)

    def event_actions(self, event: Event) -> tuple[Action, ...]:
        """Arm the exits on an entry fill; else as every order kind."""
        if isinstance(event, Fill):
            return (ArmBracket(self.name, self.id, event, self.take_profit, self.stop),)
        return super().event_actions(event)

    def render_event(self, event: Event) -> str:
        """Return a line for an entry fill (not sent: the arming is notified)."""
        if isinstance(event, Fill):
            return f"{self.name}: entry {event.side} {text(event.size)} @ {text(event.price)}"
        return super().render_event(event)

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `bracket: {market, account, entry, take_profit, stop, client_id_prefix?,
        venue?, source?, limits?}`."""
        errors = len(reader.errors)
        own = ("entry", "take_profit", "stop", "client_id_prefix")
        required = ("entry", "take_profit", "stop")
        read = read_order(reader, node, "bracket", own, required, sized=False, sided=False)
        if read is None:
            return None
        entries, fields = read
        if "entry" in entries:
            entry = reader.choice(entries["entry"][1], "bracket.entry", SIDES)
            fields["entry"] = entry
            fields["side"] = None if entry is None else "sell" if entry == "buy" else "buy"
        for name in ("take_profit", "stop"):
            if name in entries:
                fields[name] = read_offset(reader, entries[name][1], f"bracket.{name}")
        if "client_id_prefix" in entries:
            fields["client_id_prefix"] = reader.string(
                entries["client_id_prefix"][1], "bracket.client_id_prefix", CLIENT_ID_PREFIX,
                CLIENT_ID_PREFIX_RULE,
            )  # fmt: skip
        if len(reader.errors) > errors or not complete(fields, entries, required):
            return None
        return fields


class BracketMatcher(EmulatedMatcher):
    """Entry fills (private stream), armings and the armed exits' triggers (ticker stream)."""

    def __init__(self, rules: tuple[BracketRule, ...]) -> None:
        super().__init__(rules)
        self.brackets = rules
        self.by_series: dict[Series, list[int]] = {}
        self.timed: dict[Series, list[int]] = {}  # the brackets with a hold
        self.by_id: dict[str, int] = {}
        for position, rule in enumerate(rules):
            series = self.timed if rule.options.hold_ms is not None else self.by_series
            series.setdefault(rule.series(), []).append(position)
            self.by_id[rule.id] = position

    def match(self, event: Event) -> list[int]:
        """Return the brackets an entry fills; take an arming into the stream's state."""
        if isinstance(event, Fill):
            return [p for p, rule in enumerate(self.brackets) if rule.entered(event)]
        if isinstance(event, OrderArming):
            self._arm(event)
            return []
        return super().match(event)

    def _arm(self, event: OrderArming) -> None:
        if event.rule not in self.by_id or self.state.get(event.rule) == _DONE + event.arming:
            return  # a rule since removed, or a late repeat of an arming that fired
        armed = f"{event.arming}|{text(event.take_profit)}|{text(event.stop)}"
        self.state.set(event.rule, _ARMED + armed)

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return the brackets whose armed exit `now` reaches (disarming them)."""
        positions = self.by_series.get((venue, market, source))
        if not positions:
            return []
        found = []
        for position in positions:
            rule = self.brackets[position]
            armed = self._armed(rule)
            if armed is None:
                continue
            arming, tp, stop = armed
            if reached("take_profit", rule.side, Decimal(tp), now) or reached(
                "stop", rule.side, Decimal(stop), now
            ):
                self.state.set(rule.id, _DONE + arming)
                found.append(position)
        return found

    def _armed(self, rule: BracketRule) -> tuple[str, str, str] | None:
        """Return a bracket's armed exits in this stream: (arming, take-profit, stop levels as
        saved), or None when none are armed."""
        held = self.state.get(rule.id)
        if held is None or not held.startswith(_ARMED):
            return None
        arming, tp, stop = held[len(_ARMED) :].split("|")
        return arming, tp, stop


class TimedBracketMatcher(BracketMatcher):
    """A BracketMatcher whose book has brackets with a hold: their armed exits fire once their
    trigger held that long (each exit its own hold, in the Gate)."""

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return the brackets whose armed exit `now` reaches (without a hold), or reached for
        the hold (disarming them)."""
        found = super().candidates(venue, market, source, prev, now, ms)
        positions = self.timed.get((venue, market, source))
        if not positions:
            return found
        fired = []
        for position in positions:
            rule = self.brackets[position]
            armed = self._armed(rule)
            if armed is None:
                continue
            arming, tp, stop = armed
            for leg, level in (("take_profit", tp), ("stop", stop)):
                hit = reached(leg, rule.side, Decimal(level), now)
                if self.held(f"{rule.id}.{leg}", rule, ms, hit):
                    self.state.set(rule.id, _DONE + arming)
                    fired.append(position)
                    break
        return sorted(found + fired) if fired else found


class BracketBook(EmulatedBook[BracketRule]):
    """Every bracket rule of a RuleSet."""

    def matcher(self) -> BracketMatcher:  # type: ignore[override]
        """Return a fresh live matcher (nothing armed: the drain binds it to a stream's state)."""
        rules = tuple(self)
        if any(rule.options.hold_ms is not None for rule in rules):
            return TimedBracketMatcher(rules)
        return BracketMatcher(rules)
