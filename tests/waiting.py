"""The one way tests wait: poll a condition until it holds, fail at a deadline (never a sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
WAIT = 5.0  # seconds: how long a test waits for something that happens at once


def wait_until(
    predicate: Callable[[], T],
    timeout: float = WAIT,
    what: str = "a condition",
    every: float = 0.01,
) -> T:
    """Return predicate()'s first truthy value; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)  # a poll interval; the deadline decides, not the sleep
