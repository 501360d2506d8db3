"""What the self-monitoring kinds (feed, lag) share: a threshold in seconds, an optional
recovery message, and one firing per episode of the condition they watch.

The watcher's monitor (watcher/monitor.py) reports a condition as it passes each threshold and
once more when it is over, every report carrying when the episode began (`since`). A rule fires
when a report passes its own `seconds`; with the default `repeat: every` its claim is about the
episode (Rule.subject), so one episode fires it once however many reports it makes, and the
recovery, when asked for, once more. A flapping feed is one episode (the monitor's `settle`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml

from rules.base import Cooldown, Every, Once, Rule
from rules.codes import MISSING_KEY, OUT_OF_RANGE
from rules.reader import Entry, Reader

MAX_SECONDS = 86_400.0


class HealthRule(Rule):
    """A rule on a lasting condition: reported after `seconds`, and over (`recovered`)."""

    seconds: float = 0.0
    recovered: bool = False

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """A recovery needs its own claim: once or a cooldown would swallow it."""
        if self.recovered and not isinstance(repeat, Every):
            return (
                f"{self.KIND}.recovered: needs `repeat: every` (the default): with `once` or a "
                "cooldown the recovery message would be held back by the alert's claim"
            )
        return ""

    def passes(self, seconds: float | None) -> bool:
        """Return whether a report of `seconds` (how long the condition lasted) is long enough."""
        return (seconds or 0.0) >= self.seconds

    def episode(self, subject: str, since: datetime, recovered: bool) -> str:
        """Return the claim subject of one episode of `subject` (and of its recovery)."""
        ms = int(since.timestamp() * 1000)
        return f"{self.id}:{subject}:{ms}" + (":recovered" if recovered else "")


def read_seconds(
    reader: Reader, node: yaml.Node, entries: dict[str, Entry], what: str, required: str
) -> float | None:
    """Read `seconds:` (more than 0, at most a day), 0.0 when absent; None after an error.
    `required` ("" when optional) says why it may not be left out."""
    if "seconds" not in entries:
        if required:
            reader.error(node, f"{what}: needs `seconds:` ({required})", MISSING_KEY)
            return None
        return 0.0
    node = entries["seconds"][1]
    value = reader.decimal(node, f"{what}.seconds")
    if value is None:
        return None
    if not 0 < value <= MAX_SECONDS:
        message = f"{what}.seconds: must be more than 0 and at most {MAX_SECONDS:g}"
        reader.error(node, message, OUT_OF_RANGE)
        return None
    return float(value)


def read_recovered(reader: Reader, entries: dict[str, Entry], what: str) -> bool | None:
    """Read `recovered:` (default false)."""
    if "recovered" not in entries:
        return False
    return reader.boolean(entries["recovered"][1], f"{what}.recovered")


def seconds_text(seconds: float | None) -> str:
    """Return seconds for a message: whole from 10 up, else to a tenth ("2.5", "30")."""
    value = seconds or 0.0
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}".removesuffix(".0")


def fields_ok(reader: Reader, errors: int, fields: dict[str, Any]) -> dict[str, Any] | None:
    """Return the fields read, or None if reading them recorded an error."""
    return fields if len(reader.errors) == errors else None
