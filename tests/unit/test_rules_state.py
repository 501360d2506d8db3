"""A kind's state for one stream (rules/state.py): what a batch saves, and deferred writes, which
every read sees as if they had been written at each change."""

from __future__ import annotations

from rules.state import KindState


class Counter:
    """A writer that keeps a count as an int and writes its text only when the state is read."""

    def __init__(self, state: KindState) -> None:
        self.state = state
        self.count = 0
        self.pending = False
        self.writes = 0

    def add(self) -> None:
        self.count += 1
        if not self.pending:
            self.pending = True
            self.state.defer(self.write)

    def write(self) -> None:
        self.pending = False
        self.writes += 1
        self.state.set("n", str(self.count))


def test_set_and_delete_are_saved_once_and_an_unchanged_value_writes_nothing() -> None:
    state = KindState({"a": "1", "b": "2"})
    state.set("a", "1")
    state.set("c", "3")
    state.delete("b")
    state.delete("missing")
    assert state.take() == ({"c": "3"}, ["b"])
    assert state.take() == ({}, [])
    state.set("b", "4")
    state.delete("c")
    assert state.take() == ({"b": "4"}, ["c"])
    assert state.fields == {"a": "1", "b": "4"}


def test_a_deferred_write_is_done_once_before_the_next_take() -> None:
    state = KindState({"n": "0"})
    counter = Counter(state)
    for _ in range(5):
        counter.add()
    assert counter.writes == 0
    assert state.take() == ({"n": "5"}, [])
    assert counter.writes == 1
    assert state.take() == ({}, [])  # nothing deferred since: nothing written
    assert counter.writes == 1


def test_every_read_sees_what_was_deferred() -> None:
    state = KindState()
    counter = Counter(state)
    counter.add()
    assert state.get("n") == "1"
    counter.add()
    assert state.fields == {"n": "2"}
    counter.add()
    assert KindState(state.fields).get("n") == "3"  # a copy for another worker's bind
    assert state.take() == ({"n": "3"}, [])
    assert counter.writes == 3


def test_a_deferred_value_equal_to_the_saved_one_writes_nothing() -> None:
    state = KindState({"n": "1"})
    counter = Counter(state)
    counter.add()  # 1: the value already saved
    assert state.take() == ({}, [])
    assert counter.writes == 1
