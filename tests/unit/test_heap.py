"""A process's heap: once settled, what was alive is out of the collector's walks, and a reload's
settle frees the previous rules' reference cycles instead of keeping them frozen forever."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rules import load as rules_load
from rules.ruleset import RuleSet
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


def test_a_rule_load_runs_no_collection_and_leaves_the_collector_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = [
        f"  - {{name: r{n}, notify: inbox, price: {{market: BTC-USDT, above: '{n + 1}'}}}}"
        for n in range(3000)  # some 200 collections of the youngest generation unless paused
    ]
    path = tmp_path / "rules.yaml"
    path.write_text("channels:\n  inbox: 'json://127.0.0.1:1/x'\nrules:\n" + "\n".join(rules))
    loading: list[bool] = []
    collections: list[str] = []
    load = rules_load._load

    def traced(*args: Any) -> RuleSet:
        loading.append(True)
        try:
            return load(*args)
        finally:
            loading.pop()

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and loading:
            collections.append(phase)

    monkeypatch.setattr(rules_load, "_load", traced)
    gc.callbacks.append(seen)
    try:
        for enabled_before in (True, False):
            (gc.enable if enabled_before else gc.disable)()
            assert rules_load.load_rules([path], env={}).count() == 3000
            assert gc.isenabled() is enabled_before
    finally:
        gc.callbacks.remove(seen)
        gc.enable()
    assert collections == []


def test_paused_restores_a_collector_paused_before_it() -> None:
    gc.disable()
    try:
        with heap.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with heap.paused(), heap.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
