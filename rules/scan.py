"""The book of an event kind with few rules (fills, order updates): each live rule is asked.

A ScanBook is the compiled side (pure, shared); its matcher is a worker's live side: which rules
are retired (once-rules already claimed). A kind whose rules run into thousands would index
them instead, as PriceBook does for price levels. When some rule has options (hold, rearm,
expires, for: rules/timing.py) the matcher is a GatedScanMatcher, which asks their Gate with
each event they concern and keeps its timers in the stream's kind state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from copy import copy
from typing import Generic, Protocol, TypeVar

from rules.base import Rule, Series
from rules.gate import Gate, State
from watcher.events import Event


class EventRule(Protocol):
    """A rule matched against one model event at a time (see Rule.matches)."""

    def matches(self, event: Event) -> bool: ...


R = TypeVar("R", bound=Rule)


class ScanBook(Generic[R]):
    """One kind's rules in load order; book[i] is the i-th rule."""

    def __init__(self) -> None:
        self._rules: list[R] = []

    def add(self, rule: R) -> int:
        """Append a compiled rule; return its position."""
        self._rules.append(rule)
        return len(self._rules) - 1

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, position: int) -> R:
        return self._rules[position]

    def __iter__(self) -> Iterator[R]:
        return iter(self._rules)

    def markets(self) -> set[Series]:
        """Return the price series these rules need streamed: none, they read model events."""
        return set()

    def venues(self) -> set[str]:
        """Return the venues these rules name (a rule without a venue filter names none)."""
        return {venue for rule in self._rules for venue in rule.venues()}

    def matcher(self) -> ScanMatcher:
        """Return a fresh live matcher over these rules (nothing retired): a GatedScanMatcher
        when some rule has options."""
        gated = [i for i, rule in enumerate(self._rules) if rule.options.gated]
        if gated:
            return GatedScanMatcher(tuple(self._rules), gated)
        return ScanMatcher(tuple(self._rules))


class ScanMatcher:
    """Asks every live rule whether an event fires it."""

    def __init__(self, rules: Sequence[EventRule]) -> None:
        self._rules = rules
        self._retired: set[int] = set()

    def match(self, event: Event) -> list[int]:
        """Return, ascending, the positions of the live rules `event` fires."""
        retired = self._retired
        return [
            position
            for position, rule in enumerate(self._rules)
            if position not in retired and rule.matches(event)
        ]

    def retire(self, position: int) -> None:
        """Stop asking a rule that can never fire again (a once-rule already claimed)."""
        self._retired.add(position)

    def alive(self, position: int) -> bool:
        """Return whether a rule is still asked."""
        return position not in self._retired


class GatedScanMatcher(ScanMatcher):
    """A ScanMatcher whose rules with options fire through their Gate (see the module)."""

    def __init__(self, rules: Sequence[Rule], gated: Sequence[int]) -> None:
        super().__init__(rules)
        self._all = rules
        self._gated = frozenset(gated)
        self._gate = Gate()

    def bind(self, state: State) -> GatedScanMatcher:
        """Return this matcher keeping its rules' timers in `state` (one stream's kind state),
        sharing what is retired."""
        bound = copy(self)
        bound._gate = Gate(state)
        return bound

    def match(self, event: Event) -> list[int]:
        """Return, ascending, the positions of the live rules `event` fires (rules with options:
        as their gate admits, at the event's time)."""
        retired, gated, gate = self._retired, self._gated, self._gate
        ms = int(event.at.timestamp() * 1000)
        found: list[int] = []
        for position, rule in enumerate(self._all):
            if position in retired:
                continue
            if position not in gated:
                if rule.matches(event):
                    found.append(position)
                continue
            if not rule.concerns(event):
                continue
            fires = rule.matches(event)
            rearmed = rule.rearmed_by(event)
            if gate.admit(rule.id, rule.options, ms, fires, holds=fires, rearmed=rearmed):
                found.append(position)
            elif gate.expired(rule.id, rule.options, ms):
                retired.add(position)  # past its time: never asked again
        return found
