"""bench --orders' reading of a firing id: the stream entry that fired it, to the ms."""

from __future__ import annotations

from bench.orders import _entry_ms
from watcher import keys
from workers.firings import firing_of


def test_a_firing_names_the_ms_of_its_stream_entry() -> None:
    firing = firing_of("o000410-176bfcd60403", keys.ticks_stream(1), "1796283142997-3", 20)
    assert _entry_ms(firing) == 1796283142997
