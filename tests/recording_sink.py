"""A Stream sink for tests: keeps every batch and skipped frame, and waits on what it saw."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.waiting import WAIT
from watcher.events import FeedStatus, TickRow
from watcher.venues import Parsed


class Recorder:
    """A Sink that keeps every batch; the first publish can wait for a gate."""

    transient: tuple[type[Exception], ...] = (OSError,)

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[Parsed]] = []
        self.malformed: list[str] = []
        self.gate = gate
        self.cond = threading.Condition()

    def publish(self, parsed_batch: list[Parsed]) -> None:
        """Record a batch (after the gate opens, the first time)."""
        if self.gate is not None:
            assert self.gate.wait(WAIT)
            self.gate = None
        with self.cond:
            self.batches.append(list(parsed_batch))
            self.cond.notify_all()

    def count_malformed(self, feed: str) -> None:
        """Record a skipped frame."""
        with self.cond:
            self.malformed.append(feed)
            self.cond.notify_all()

    def wait(self, predicate: Callable[[], bool]) -> None:
        """Block until predicate() holds (checked at every delivery) or fail."""
        with self.cond:
            assert self.cond.wait_for(predicate, WAIT), "sink never saw what it waited for"

    @property
    def ticks(self) -> list[TickRow]:
        """Every tick row so far, in order."""
        return [row for batch in self.batches for parsed in batch for row in parsed.ticks]

    @property
    def statuses(self) -> list[FeedStatus]:
        """Every FeedStatus so far, in order."""
        events = [e for batch in self.batches for parsed in batch for e in parsed.events]
        return [e for e in events if isinstance(e, FeedStatus)]
