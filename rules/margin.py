"""Margin rules: the account's risk, from the position and account pushes the watcher parses.

    margin: {account: main, market: BTC-USDT-SWAP, liq_distance_below: "5%"}

One condition per rule, with optional filters (venue, account, market, side: long, short, net):
- ratio_below / ratio_above: the margin ratio (the position's with `market`, else the account's);
- liq_distance_below: |mark - liquidation price| / mark, in %: the mark price (never the last
  trade) of the position push, as every notional value here (OKX's notionalUsd is at mark);
- pnl_below: the position's unrealized PnL (at mark);
- warning: a liquidation warning (OKX liquidation-warning, Binance MARGIN_CALL, Bybit status);
- position: opened | closed: a position's size leaving or reaching zero. The last size of each
  position is kept in the stream's kind state; a position seen for the first time counts as
  opened if the venue says it was opened within OPENED_WITHIN (OKX's cTime), so the snapshot of
  positions that were already open does not fire.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from copy import copy
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal

import yaml

from rules.account import read_filters
from rules.base import (
    Cooldown,
    Every,
    Once,
    Rule,
    text,
    utc_text,
)
from rules.codes import BAD_VALUE, ONE_OF, OUT_OF_RANGE
from rules.gate import Gate, State
from rules.reader import BOOL, Reader
from rules.scan import ScanBook
from watcher.events import AccountUpdate, Event, PositionUpdate

Condition = Literal[
    "ratio_below", "ratio_above", "liq_distance_below", "pnl_below", "warning", "position"
]
LEVELS: tuple[Condition, ...] = ("ratio_below", "ratio_above", "liq_distance_below", "pnl_below")
CONDITIONS: tuple[Condition, ...] = (*LEVELS, "warning", "position")
CHANGES = ("opened", "closed")
POSITION_SIDES = ("long", "short", "net")
KEYS = ("venue", "account", "market", "side", *CONDITIONS)
OPENED_WITHIN = timedelta(minutes=1)
HUNDRED = Decimal(100)
LEVEL_TEXT = {
    "ratio_below": "margin ratio {ratio} below {level}",
    "ratio_above": "margin ratio {ratio} above {level}",
    "liq_distance_below": "liquidation {distance}% away (mark {mark}, liq {liq_price}),"
    " under {level}%",
    "pnl_below": "unrealized PnL {pnl} below {level}",
    "warning": "liquidation warning (margin ratio {ratio}, mark {mark})",
}


class MarginRule(Rule):
    """Fire on a position or account update whose condition holds (filters: None = any)."""

    KIND: ClassVar[str] = "margin"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "account", "market", "side", "size", "avg_price", "mark",
            "liq_price", "distance", "ratio", "pnl", "notional", "equity", "level", "condition",
            "what", "subject", "time",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = "[{rule}] {subject}: {what}"
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Cooldown(seconds=900)

    venue: str | None = None
    account: str | None = None
    market: str | None = None
    side: str | None = None
    condition: Condition
    level: Decimal | None = None
    change: Literal["opened", "closed"] | None = None

    @classmethod
    def default_repeat(cls, fields: Mapping[str, Any]) -> Once | Every | Cooldown:
        """Every warning or position change; a level reminds at most every 15 minutes."""
        return Every() if fields.get("condition") in ("warning", "position") else cls.DEFAULT_REPEAT

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """Refuse `repeat: every` on a level: it would fire on every push while beyond it."""
        if isinstance(repeat, Every) and self.condition in LEVELS:
            return f"repeat: every would fire on every update while {self.condition}; use cooldown"
        return ""

    def option_problem(self, option: str) -> str:
        """Levels take hold and rearm; warnings and position changes are single events."""
        if option in ("hold", "rearm") and self.condition not in LEVELS:
            return f"margin {self.condition} rules fire on single events: no level to {option}"
        return ""

    def venues(self) -> frozenset[str]:
        """Return the venue filter's venue (none when the rule matches every venue)."""
        return frozenset() if self.venue is None else frozenset((self.venue,))

    def value(self, event: Event) -> Decimal | None:
        """Return the value this rule's level is compared with (None: the event has none)."""
        if self.condition in ("ratio_below", "ratio_above"):
            return event.margin_ratio if isinstance(event, PositionUpdate | AccountUpdate) else None
        if not isinstance(event, PositionUpdate):
            return None
        if self.condition == "pnl_below":
            return event.unrealized_pnl
        if self.condition == "liq_distance_below":
            return distance(event)
        return None

    def concerns(self, event: Event) -> bool:
        """Return whether the event is about what this rule watches (and carries its value)."""
        if not isinstance(event, PositionUpdate | AccountUpdate):
            return False
        account_wide = self.condition in ("ratio_below", "ratio_above") and self.market is None
        if isinstance(event, AccountUpdate) != account_wide or not self._passes(event):
            return False
        if isinstance(event, PositionUpdate) and event.warning != (self.condition == "warning"):
            return False
        return self.condition in ("warning", "position") or self.value(event) is not None

    def _passes(self, event: PositionUpdate | AccountUpdate) -> bool:
        market = event.market if isinstance(event, PositionUpdate) else None
        side = event.side if isinstance(event, PositionUpdate) else None
        return (
            (self.venue is None or event.venue == self.venue)
            and (self.account is None or event.account == self.account)
            and (self.market is None or market == self.market)
            and (self.side is None or side == self.side)
        )

    def fires(self, event: Event, change: str | None = None) -> bool:
        """Return whether the condition holds on an event it concerns (`change`: what the
        matcher saw this position do, for position rules)."""
        if self.condition == "warning":
            return True
        if self.condition == "position":
            return change == self.change
        value, level = self.value(event), self.level
        if value is None or level is None:
            return False
        return value > level if self.condition == "ratio_above" else value < level

    def matches(self, event: Event) -> bool:
        """Return whether `event` fires this rule (position changes: see MarginMatcher)."""
        return self.concerns(event) and self.condition != "position" and self.fires(event)

    def rearmed_by(self, event: Event) -> bool:
        """Return whether the value went back beyond the level by the `rearm` distance."""
        rearm, value, level = self.options.rearm, self.value(event), self.level
        if rearm is None or value is None or level is None:
            return False
        if self.condition == "ratio_above":
            return value <= level - rearm.distance(level)
        return value >= level + rearm.distance(level)

    def subject(self, event: Event) -> str | None:
        """Return one update of one position (or account): a redelivered push claims the same."""
        ms = int(event.at.timestamp() * 1000)
        if isinstance(event, PositionUpdate):
            return (
                f"{self.id}:{event.venue}:{event.account}:{event.market}:{event.side}"
                f":{text(event.size)}:{ms}"
            )
        if isinstance(event, AccountUpdate):
            return f"{self.id}:{event.venue}:{event.account}:{ms}"
        return None

    def render_event(self, event: Event) -> str:
        """Return the message for a position or account update."""
        if not isinstance(event, PositionUpdate | AccountUpdate):
            raise TypeError(f"margin rule {self.name!r} rendered for a {event.kind} event")
        return self.render(self.fields(event))

    def fields(self, event: PositionUpdate | AccountUpdate) -> dict[str, str]:
        """Return every placeholder's value for one firing (absent values are "")."""
        position = event if isinstance(event, PositionUpdate) else None
        gap = distance(position) if position is not None else None
        values = {
            "rule": self.name,
            "venue": event.venue,
            "account": event.account,
            "market": position.market if position else "",
            "side": position.side if position else "",
            "size": text(position.size) if position else "",
            "avg_price": text(position.avg_price) if position else "",
            "mark": text(position.mark_price) if position else "",
            "liq_price": text(position.liquidation_price) if position else "",
            "distance": text(gap.quantize(Decimal("0.01"))) if gap is not None else "",
            "ratio": text(event.margin_ratio),
            "pnl": text(position.unrealized_pnl) if position else "",
            "notional": text(position.notional) if position else "",
            "equity": text(event.total_equity) if isinstance(event, AccountUpdate) else "",
            "level": text(self.level),
            "condition": self.change or self.condition,
            "time": utc_text(event.at),
        }
        where = f"{event.venue}/{event.account}"
        values["subject"] = f"{where} {values['market']}" if position else where
        if self.change == "opened":
            values["what"] = (
                f"position opened: {values['side']} {values['size']} @ {values['avg_price']}"
            )
        elif self.change == "closed":
            values["what"] = "position closed"
        else:
            template = LEVEL_TEXT[self.condition]
            values["what"] = template.format(**values)
        return values

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `margin: {venue?, account?, market?, side?, <condition>}`."""
        entries = reader.mapping(node, "margin", KEYS)
        if entries is None:
            return None
        present = [key for key in CONDITIONS if key in entries]
        if len(present) != 1:
            problem = "has both " + " and ".join(present[:2]) + "; " if present else ""
            reader.error(
                entries[present[1]][0] if present else node,
                f"margin: {problem}give exactly one of {', '.join(CONDITIONS)}",
                ONE_OF,
            )
            return None
        errors = len(reader.errors)
        fields = read_filters(reader, entries, "margin", POSITION_SIDES)
        fields["condition"] = present[0]
        _read_condition(reader, present[0], entries[present[0]][1], fields)
        return fields if len(reader.errors) == errors else None


def _read_condition(
    reader: Reader, condition: Condition, node: yaml.Node, fields: dict[str, Any]
) -> None:
    """Read the condition's value into `fields` (errors to `reader`)."""
    what = f"margin.{condition}"
    if condition == "warning":
        if not (isinstance(node, yaml.ScalarNode) and node.tag == BOOL and node.value == "true"):
            reader.error(node, f"{what}: write `warning: true`", BAD_VALUE)
    elif condition == "position":
        fields["change"] = reader.choice(node, what, CHANGES)
    elif condition == "liq_distance_below":
        if isinstance(node, yaml.ScalarNode) and str(node.value).endswith("%"):
            node = yaml.ScalarNode(node.tag, node.value[:-1].strip(), node.start_mark)
        level = reader.decimal(node, what, positive=True)
        if level is not None and level >= HUNDRED:
            reader.error(node, f"{what}: must be a percentage below 100", OUT_OF_RANGE)
        fields["level"] = level
    else:  # a PnL may be below a loss: the one level that may be zero or less
        fields["level"] = reader.decimal(node, what, positive=condition != "pnl_below")


def distance(position: PositionUpdate) -> Decimal | None:
    """Return |mark - liquidation price| / mark in % (None without both prices)."""
    mark, liq = position.mark_price, position.liquidation_price
    if mark is None or liq is None or mark <= 0:
        return None
    return abs(mark - liq) * HUNDRED / mark


class MarginBook(ScanBook[MarginRule]):
    """Every margin rule of a RuleSet; its matcher is a MarginMatcher."""

    def matcher(self) -> MarginMatcher:  # type: ignore[override]
        """Return a fresh matcher: a StatefulMarginMatcher when rules need per-stream state
        (position changes, or options)."""
        rules = tuple(self)
        if any(r.condition == "position" or r.options.gated for r in rules):
            return StatefulMarginMatcher(rules)
        return MarginMatcher(rules)


class MarginMatcher:
    """Asks each live margin rule about an event; position rules learn what the position did
    from its last size in the state, rules with options fire through their Gate."""

    def __init__(self, rules: Sequence[MarginRule]) -> None:
        self._rules = rules
        self._retired: set[int] = set()
        self._tracks = any(rule.condition == "position" for rule in rules)
        self._gate = Gate()

    def retire(self, position: int) -> None:
        """Stop asking a rule that can never fire again (a once-rule already claimed)."""
        self._retired.add(position)

    def match(self, event: Event) -> list[int]:
        """Return, ascending, the positions of the live rules `event` fires."""
        change = None
        if self._tracks and isinstance(event, PositionUpdate) and not event.warning:
            change = self._change(event)
        ms = int(event.at.timestamp() * 1000)
        gate, found = self._gate, []
        for position, rule in enumerate(self._rules):
            if position in self._retired or not rule.concerns(event):
                continue
            fires = rule.fires(event, change)
            if not rule.options.gated:
                if fires:
                    found.append(position)
            elif gate.admit(
                rule.id, rule.options, ms, fires, holds=fires, rearmed=rule.rearmed_by(event)
            ):
                found.append(position)
            elif gate.expired(rule.id, rule.options, ms):
                self._retired.add(position)
        return found

    def _change(self, event: PositionUpdate) -> str | None:
        """Return "opened", "closed" or None for this update, and keep its size."""
        state = self._gate.state
        field = f"pos|{event.venue}|{event.account}|{event.market}|{event.side}"
        before = state.get(field)
        state.set(field, text(event.size))
        if before is None:
            fresh = event.opened_at is not None and event.at - event.opened_at <= OPENED_WITHIN
            return "opened" if event.size and fresh else None
        if not Decimal(before) and event.size:
            return "opened"
        if Decimal(before) and not event.size:
            return "closed"
        return None


class StatefulMarginMatcher(MarginMatcher):
    """A MarginMatcher whose sizes and timers follow the stream (bind)."""

    def bind(self, state: State) -> StatefulMarginMatcher:
        """Return this matcher keeping sizes and timers in `state` (one stream's kind state),
        sharing what is retired."""
        bound = copy(self)
        bound._gate = Gate(state)
        return bound
