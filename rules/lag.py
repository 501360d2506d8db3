"""Lag rules: fire when the evaluators fall behind, the oldest entry of a stream not evaluated
after `seconds`, and optionally when they have caught up (see rules/health.py for episodes,
watcher/lag.py for how lag is measured)."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

from rules.base import Cooldown, Every, Once, utc_text
from rules.health import HealthRule, fields_ok, read_recovered, read_seconds, seconds_text
from rules.reader import Reader
from rules.scan import ScanBook
from watcher.events import EvaluationLag, Event

KEYS = ("seconds", "recovered")


class LagRule(HealthRule):
    """Fire when a stream's oldest unevaluated entry is at least `seconds` old."""

    KIND: ClassVar[str] = "lag"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        ("rule", "stream", "seconds", "entries", "since", "time", "status", "summary")
    )
    DEFAULT_MESSAGE: ClassVar[str] = "[{rule}] evaluation of {stream} {summary}"
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    def matches(self, event: Event) -> bool:
        """Return whether `event` reports lag long enough (or, asked for, its end)."""
        if not isinstance(event, EvaluationLag):
            return False
        return (self.recovered or not event.recovered) and self.passes(event.seconds)

    def subject(self, event: Event) -> str | None:
        """Return the episode of lag on one stream: each fires the rule once."""
        if not isinstance(event, EvaluationLag):
            return None
        return self.episode(event.stream, event.since, event.recovered)

    def render_event(self, event: Event) -> str:
        """Return the message for a lag report."""
        if not isinstance(event, EvaluationLag):
            raise TypeError(f"lag rule {self.name!r} rendered for a {event.kind} event")
        return self.render(self.fields(event))

    def fields(self, event: EvaluationLag) -> dict[str, str]:
        """Return every placeholder's value for one firing."""
        if event.recovered:
            seconds = seconds_text((event.at - event.since).total_seconds())
            summary = f"caught up after {seconds}s"
        else:
            seconds = seconds_text(event.seconds)
            summary = f"is {seconds}s behind ({event.entries} entries waiting)"
        return {
            "rule": self.name,
            "stream": event.stream,
            "seconds": seconds,
            "entries": str(event.entries),
            "since": utc_text(event.since),
            "time": utc_text(event.at),
            "status": "recovered" if event.recovered else "lagging",
            "summary": summary,
        }

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `lag: {seconds, recovered?}`."""
        entries = reader.mapping(node, "lag", KEYS)
        if entries is None:
            return None
        errors = len(reader.errors)
        why = "how old the oldest unevaluated entry is before the rule fires"
        fields = {
            "seconds": read_seconds(reader, node, entries, "lag", why),
            "recovered": read_recovered(reader, entries, "lag"),
        }
        return fields_ok(reader, errors, fields)


class LagBook(ScanBook[LagRule]):
    """Every lag rule of a RuleSet, asked in turn about each lag report."""
