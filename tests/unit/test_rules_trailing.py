"""Trailing stops on scripted paths: activation, the high/low-water mark and the callback,
against hand-computed expectations (no Redis: the matcher's own state)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rules.load import load_rules
from rules.trailing import TrailingBook, TrailingRule
from tests.unit.test_rules_load import CHANNELS, write

# spec, path, the mark after each tick (None: not active yet; "fired"), the stop level at the
# tick that fires (worked out by hand: high - 1% of the high, low + 2% of the low, ...).
CASES = [
    pytest.param(
        "{side: sell, callback: '1%', activation: '61000'}",
        ["60000", "60500", "61000", "61500", "61200", "60900", "60885", "60000"],
        [None, None, "61000", "61500", "61500", "61500", "fired", "fired"],
        "60885",  # 61500 - 615
        id="sell-1pct-activation",
    ),
    pytest.param(
        "{side: sell, callback: '250'}",
        ["60000", "60100", "59900", "59851", "59850"],
        ["60000", "60100", "60100", "60100", "fired"],
        "59850",  # 60100 - 250
        id="sell-amount-at-once",
    ),
    pytest.param(
        "{side: buy, callback: '2%', activation: '3000'}",
        ["3100", "3000", "2950", "3000", "3008.99", "3009"],
        [None, "3000", "2950", "2950", "2950", "fired"],
        "3009",  # 2950 + 59
        id="buy-2pct-activation",
    ),
    pytest.param(
        "{side: buy, callback: '5'}",
        ["10", "8", "12.99", "13"],
        ["10", "8", "8", "fired"],
        "13",  # 8 + 5
        id="buy-amount-at-once",
    ),
    pytest.param(
        "{side: sell, callback: '0.5%', activation: '100'}",
        ["99", "100", "99.5", "99.51"],
        [None, "100", "fired", "fired"],
        "99.5",  # activated at 100: the very next tick can fire
        id="fires-right-after-activation",
    ),
]


def _rule(tmp_path: Path, spec: str) -> TrailingRule:
    common = "market: BTC-USDT, account: main, size: '0.5', "
    text = (
        f"{CHANNELS}rules:\n  - name: trail\n    trailing: {{{common}{spec[1:]}\n    notify: desk\n"
    )
    ruleset = load_rules([write(tmp_path, "trail.yaml", text)], env={})
    [rule] = list(ruleset.of(TrailingRule))
    return rule


@pytest.mark.parametrize(("spec", "path", "marks", "stop"), CASES)
def test_trailing_on_a_scripted_path(
    tmp_path: Path, spec: str, path: list[str], marks: list[str | None], stop: str
) -> None:
    rule = _rule(tmp_path, spec)
    book = TrailingBook()
    book.add(rule)
    matcher = book.matcher()
    seen: list[str | None] = []
    fired_at: list[int] = []
    prev: Decimal | None = None
    for i, price in enumerate(path):
        now = Decimal(price)
        if matcher.candidates("okx", "BTC-USDT", "last", prev, now) == [0]:
            fired_at.append(i)
        held = matcher.state.get(rule.id)
        seen.append(held.removeprefix("x:") if held is not None else None)
        prev = now
    assert seen == marks
    assert fired_at == [marks.index("fired")]  # exactly once
    mark = Decimal(marks[marks.index("fired") - 1] or "0")
    assert rule.stop_level(mark) == Decimal(stop)
    # It fired on the first tick at or beyond the stop level, not before.
    beyond = [
        i
        for i, p in enumerate(path)
        if seen[i] is not None
        and (Decimal(p) <= Decimal(stop) if rule.side == "sell" else Decimal(p) >= Decimal(stop))
    ]
    assert beyond[0] == fired_at[0]


def test_other_series_leave_the_mark_alone(tmp_path: Path) -> None:
    rule = _rule(tmp_path, "{side: sell, callback: '1%'}")
    book = TrailingBook()
    book.add(rule)
    matcher = book.matcher()
    matcher.candidates("okx", "BTC-USDT", "last", None, Decimal(100))
    assert matcher.candidates("okx", "ETH-USDT", "last", None, Decimal(1)) == []
    assert matcher.candidates("okx", "BTC-USDT", "mark", None, Decimal(1)) == []
    assert matcher.state.get(rule.id) == "x:100"
