"""Exchange adapters: one module (or small package) per venue, and what they all return."""

from __future__ import annotations

from typing import NamedTuple

from watcher.events import Event, TickRow


class Parsed(NamedTuple):
    """What one frame parses to: lean tick rows for the hot path, and every other event."""

    ticks: list[TickRow]
    events: list[Event]
