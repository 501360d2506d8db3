"""Scripted paths through a rule file's compiled rules, with no Redis: what fires, and when.

The real matchers answer (rules.kinds.Dispatch, stateful kinds bound to an in-memory KindState
per kind, as a drain binds them); claims are modelled as the workers make them, by exchange
time: a once-rule fires once and is retired, a cooldown rule is quiet for its cooldown after a
firing, an every-rule fires each time it is found.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

from rules.base import Cooldown, Every, Rule
from rules.kinds import Dispatch, KindState
from rules.load import RuleSet, load_rules
from watcher.events import Event

CHANNELS = 'channels:\n  desk: "json://127.0.0.1:9/x"\n'


def ruleset(tmp_path: Path, rules: str) -> RuleSet:
    """Load `rules` (the items of `rules:`, indented by two) with a channel `desk`."""
    path = tmp_path / "rules.yaml"
    path.write_text(f"{CHANNELS}rules:\n{rules}")
    return load_rules([path])


class Worker:
    """One worker's view of one stream: the dispatch, its kinds' state, the claims it made."""

    def __init__(self, loaded: RuleSet) -> None:
        self.dispatch = Dispatch(loaded.books)
        self.states = {kind: KindState() for kind in self.dispatch.stateful}
        self.bound = self.dispatch.bound(self.states)
        self.cooldown_until: dict[str, int] = {}
        self.last: dict[tuple[str, str, str], Decimal] = {}
        self.fired: list[tuple[str, int]] = []

    def _claim(self, kind: str, position: int, rule: Rule, ms: int) -> None:
        repeat = rule.repeat
        if isinstance(repeat, Cooldown):
            if ms < self.cooldown_until.get(rule.id, 0):
                return
            self.cooldown_until[rule.id] = ms + int(repeat.seconds * 1000)
        elif not isinstance(repeat, Every):
            self.dispatch.retire(kind, position)
        self.fired.append((rule.name, ms))

    def tick(
        self,
        ms: int,
        price: str,
        market: str = "BTC-USDT",
        source: str = "last",
        venue: str = "okx",
    ) -> None:
        """Evaluate one tick row."""
        series = (venue, market, source)
        now = Decimal(price)
        prev = self.last.get(series)
        self.last[series] = now
        ticks = self.bound.ticks
        if not ticks:
            return
        for joint in ticks.candidates(venue, market, source, prev, now, ms):
            kind, book, position = ticks.resolve(joint)
            self._claim(kind, position, book[position], ms)

    def event(self, event: Event) -> None:
        """Evaluate one model event."""
        ms = int(event.at.timestamp() * 1000)
        for consumer in self.bound.events.get(event.kind, ()):
            for position in consumer.matcher.match(event):
                self._claim(consumer.kind, position, consumer.book[position], ms)

    def run(self, path: Iterable[tuple[int, str]], **series: str) -> list[tuple[str, int]]:
        """Evaluate a path of (ms, price) ticks; return every firing as (rule name, ms)."""
        for ms, price in path:
            self.tick(ms, price, **series)
        return self.fired


def fired(tmp_path: Path, rules: str, path: Iterable[tuple[int, str]]) -> list[tuple[str, int]]:
    """Return (rule name, ms) of every firing of `rules` along a BTC-USDT last-price path."""
    return Worker(ruleset(tmp_path, rules)).run(path)
