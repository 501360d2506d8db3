"""Tick kinds asked as one (rules/kinds.py Ticks): joint positions, each kind's after the
previous ones', ascending, whichever kinds fire on a tick."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from tests.scripted import Worker, ruleset

RULES = (
    "  - {name: a, notify: desk, price: {market: BTC-USDT, crosses_up: '101'}}\n"
    "  - {name: m1, notify: desk, move: {market: BTC-USDT, by: 1, window: 1m, direction: up}}\n"
    "  - {name: b, notify: desk, price: {market: BTC-USDT, above: '102'}}\n"
    "  - {name: m2, notify: desk, move: {market: BTC-USDT, by: 2, window: 1m, direction: up}}\n"
)


def test_two_tick_kinds_answer_joint_positions_ascending(tmp_path: Path) -> None:
    ticks = Worker(ruleset(tmp_path, RULES)).bound.ticks
    # The price book holds a and b (joint positions 0, 1), the move book m1 and m2 (2, 3).
    assert [ticks.resolve(p)[0] for p in range(4)] == ["price", "price", "move", "move"]
    found = []
    prev = None
    for ms, price in [(0, "100"), (1000, "100.5"), (2000, "101.5"), (3000, "102.5")]:
        now = Decimal(price)
        joint = ticks.candidates("okx", "BTC-USDT", "last", prev, now, ms)
        prev = now
        kinds = [ticks.resolve(p) for p in joint]
        found.append((joint, [book[position].name for _, book, position in kinds]))
    assert found == [
        ([], []),
        ([], []),
        ([0, 2], ["a", "m1"]),  # a price and a move rule on one tick
        ([1, 2, 3], ["b", "m1", "m2"]),
    ]
