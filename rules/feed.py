"""Feed rules: fire when one of the watcher's connections is in trouble, and optionally when the
trouble is over (see rules/health.py for episodes, watcher/monitor.py for what is watched).

States: `silent` (a market data feed brought no price for `seconds` while connected), `down`
(not connected, logged in and subscribed for `seconds`), `login_failed` (the venue refused
the login), `listen_key` (Binance: the listen key could not be extended).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import yaml

from rules.base import ACCOUNT, ACCOUNT_RULE, VENUE, VENUE_RULE, Cooldown, Every, Once, utc_text
from rules.codes import UNKNOWN_KEY
from rules.health import (
    HealthRule,
    fields_ok,
    read_recovered,
    read_seconds,
    seconds_text,
)
from rules.reader import Reader
from rules.scan import ScanBook
from watcher.events import Event, FeedStatus

State = Literal["silent", "down", "login_failed", "listen_key"]
STATES: tuple[State, ...] = ("silent", "down", "login_failed", "listen_key")
TIMED = ("silent", "down")  # the states reported after `seconds:`; the others at once
KEYS = ("venue", "account", "state", "seconds", "recovered")
_SAYS = {
    "silent": "silent",
    "down": "down",
    "login_failed": "login refused",
    "listen_key": "listen key not extended",
}


class FeedRule(HealthRule):
    """Fire on a feed condition of the watcher's monitor that matches every filter given."""

    KIND: ClassVar[str] = "feed"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "account", "feed", "state", "status", "seconds", "since", "time",
            "detail", "summary",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = "[{rule}] {venue}/{account} {feed} feed {summary}"
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    state: State
    venue: str | None = None
    account: str | None = None

    def venues(self) -> frozenset[str]:
        """Return the venue filter's venue (none when the rule watches every venue)."""
        return frozenset() if self.venue is None else frozenset((self.venue,))

    def matches(self, event: Event) -> bool:
        """Return whether `event` is the monitor's report of this rule's state (long enough),
        or of its end when the rule asks for `recovered`."""
        if not isinstance(event, FeedStatus) or event.since is None:
            return False  # a connection's own statuses: the monitor reports what lasts
        if (self.venue is not None and event.venue != self.venue) or (
            self.account is not None and event.account != self.account
        ):
            return False
        if event.status == self.state:
            return self.passes(event.seconds)
        recovery = event.status == "recovered" and event.code == self.state
        return self.recovered and recovery and self.passes(event.seconds)

    def subject(self, event: Event) -> str | None:
        """Return the episode of the condition on one feed: each fires the rule once."""
        if not isinstance(event, FeedStatus) or event.since is None:
            return None
        feed = f"{event.venue}:{event.account}:{event.feed}:{self.state}"
        return self.episode(feed, event.since, event.status == "recovered")

    def render_event(self, event: Event) -> str:
        """Return the message for a feed report."""
        if not isinstance(event, FeedStatus):
            raise TypeError(f"feed rule {self.name!r} rendered for a {event.kind} event")
        return self.render(self.fields(event))

    def fields(self, event: FeedStatus) -> dict[str, str]:
        """Return every placeholder's value for one firing."""
        recovered = event.status == "recovered"
        if recovered and event.since is not None:
            lasted: float | None = (event.at - event.since).total_seconds()
        else:
            lasted = event.seconds
        seconds = seconds_text(lasted)
        says = _SAYS[self.state]
        if recovered:
            summary = f"recovered: {says} for {seconds}s"
        elif self.state in TIMED:
            summary = f"{says} for {seconds}s"
        else:
            summary = says
        if event.detail and not recovered:
            summary += f" ({event.detail})"
        return {
            "rule": self.name,
            "venue": event.venue,
            "account": event.account,
            "feed": event.feed,
            "state": self.state,
            "status": event.status,
            "seconds": seconds,
            "since": utc_text(event.since) if event.since is not None else "",
            "time": utc_text(event.at),
            "detail": event.detail,
            "summary": summary,
        }

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `feed: {state, seconds? (silent, down), venue?, account?, recovered?}`."""
        entries = reader.mapping(node, "feed", KEYS, ("state",))
        if entries is None:
            return None
        errors = len(reader.errors)
        fields: dict[str, Any] = {}
        for key, pattern, rule in (
            ("venue", VENUE, VENUE_RULE),
            ("account", ACCOUNT, ACCOUNT_RULE),
        ):
            if key in entries:
                fields[key] = reader.string(entries[key][1], f"feed.{key}", pattern, rule)
        state = (
            reader.choice(entries["state"][1], "feed.state", STATES) if "state" in entries else None
        )
        if state in TIMED:
            why = f"how long the feed is {state} before the rule fires"
            fields["seconds"] = read_seconds(reader, node, entries, "feed", why)
        elif state is not None and "seconds" in entries:
            only = f"feed.seconds: only for {' and '.join(TIMED)}"
            reader.error(entries["seconds"][0], only, UNKNOWN_KEY)
        fields["state"] = state
        fields["recovered"] = read_recovered(reader, entries, "feed")
        return fields_ok(reader, errors, fields)


class FeedBook(ScanBook[FeedRule]):
    """Every feed rule of a RuleSet, asked in turn about each of the monitor's feed reports."""
