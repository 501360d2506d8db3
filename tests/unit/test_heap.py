"""A process's heap: once settled, what was alive is out of the collector's walks, and a reload's
settle frees the previous rules' reference cycles instead of keeping them frozen forever."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from watcher import heap


class Node:
    """A reference cycle, as compiled rules hold them (a book and its rules, say)."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def enabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(heap, "_enabled", False)
    try:
        yield
    finally:
        gc.unfreeze()  # the rest of the test run keeps the collector as it was


def _walked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_settle_does_nothing_until_a_worker_enables_it(enabled: None) -> None:
    alive = Node()
    heap.settle()
    assert _walked(alive)
    assert gc.get_freeze_count() == 0


def test_what_is_alive_is_frozen_and_a_later_settle_frees_dropped_cycles(enabled: None) -> None:
    old_rules = Node()
    heap.enable()
    assert not _walked(old_rules)  # frozen: full collections skip it
    assert gc.get_freeze_count() > 0
    freed = weakref.ref(old_rules)
    del old_rules  # a reload drops the previous rules: a cycle, so only the collector frees it
    gc.collect()
    assert freed() is not None  # frozen: never collected...
    new_rules = Node()
    heap.settle()  # ...until the reload's settle thaws, collects, and freezes the new rules
    assert freed() is None
    assert not _walked(new_rules)
