"""Dead letter rules: fire when a channel gives up on messages and is dead (workers/delivery.py):
the first dead letters of a channel that was alive. Later ones, while it stays dead, are counted
and listed by `klaxon status`, not alerted: a dead channel that gets this alert cannot loop."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

from rules.base import NAME, NAME_RULE, Cooldown, Every, Once, Rule, utc_text
from rules.reader import NULL, Reader
from rules.scan import ScanBook
from watcher.events import DeadLetterAlert, Event


class DeadLetterRule(Rule):
    """Fire when a channel (any, or the one named) dies with dead letters."""

    KIND: ClassVar[str] = "dead_letter"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        ("rule", "channel", "error", "count", "firing", "time")
    )
    DEFAULT_MESSAGE: ClassVar[str] = (
        "[{rule}] channel '{channel}' is dead ({error}): {count} message(s) not delivered,"
        " see klaxon status"
    )
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    channel: str | None = None

    def matches(self, event: Event) -> bool:
        """Return whether `event` is a channel's death this rule watches."""
        return isinstance(event, DeadLetterAlert) and self.channel in (None, event.channel)

    def render_event(self, event: Event) -> str:
        """Return the message for a channel's death."""
        if not isinstance(event, DeadLetterAlert):
            raise TypeError(f"dead_letter rule {self.name!r} rendered for a {event.kind} event")
        return self.render(
            {
                "rule": self.name,
                "channel": event.channel,
                "error": event.error,
                "count": str(event.count),
                "firing": event.firing,
                "time": utc_text(event.at),
            }
        )

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `dead_letter: {channel?}`; `dead_letter: {}` or `dead_letter:` watch every one."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return {}
        entries = reader.mapping(node, "dead_letter", ("channel",))
        if entries is None:
            return None
        if "channel" not in entries:
            return {}
        channel = reader.string(entries["channel"][1], "dead_letter.channel", NAME, NAME_RULE)
        return None if channel is None else {"channel": channel}


class DeadLetterBook(ScanBook[DeadLetterRule]):
    """Every dead letter rule of a RuleSet, asked in turn about each channel's death."""
