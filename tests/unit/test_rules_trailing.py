"""Trailing stops on scripted paths: activation, the high/low-water mark and the callback,
against hand-computed expectations (no Redis: the matcher's own state)."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from rules.actions import PlaceOrder
from rules.load import load_rules
from rules.state import KindState
from rules.trailing import TrailingBook, TrailingRule
from tests.unit.test_rules_load import CHANNELS, write

# spec, path, the mark after each tick (None: not active yet; "fired"), the stop level at the
# tick that fires (worked out by hand: high - 1% of the high, low + 2% of the low, ...): the
# trigger of the order it places.
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
        "{side: sell, callback: '250'}",
        ["60000", "60100", "59700"],
        ["60000", "60100", "fired"],
        "59850",  # gapped through it: fired at 59700, its trigger is still the stop level
        id="sell-gaps-through-the-stop",
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
        if matcher.candidates("okx", "BTC-USDT", "last", prev, now, 0) == [0]:
            fired_at.append(i)
            [action] = rule.tick_actions(now, prev, 0, "", "")
            assert isinstance(action, PlaceOrder)
            # The order's trigger (what a retry checks still holds) is the stop level reached.
            assert (action.trigger, action.fired_at) == (Decimal(stop), now)
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
    matcher.candidates("okx", "BTC-USDT", "last", None, Decimal(100), 0)
    assert matcher.candidates("okx", "ETH-USDT", "last", None, Decimal(1), 0) == []
    assert matcher.candidates("okx", "BTC-USDT", "mark", None, Decimal(1), 0) == []
    assert matcher.state.get(rule.id) == "x:100"


SPECS = [
    "{side: sell, callback: '1%', activation: '101'}",
    "{side: sell, callback: '0.7'}",
    "{side: sell, callback: '2%'}",
    "{side: buy, callback: '1%', activation: '99'}",
    "{side: buy, callback: '0.5'}",
    "{side: sell, callback: '30%'}",
    "{side: buy, callback: '30%'}",
]


def _reference(rule: TrailingRule, path: list[Decimal], mark: Decimal | None) -> list[str | None]:
    """The rule's state after each tick, straight from its definition (no matcher), from its
    saved `mark` (None: not active yet)."""
    states: list[str | None] = []
    fired = False
    sell = rule.side == "sell"
    for now in path:
        if not fired:
            if mark is None:
                if rule.active(now):
                    mark = now
            elif (now > mark) if sell else (now < mark):
                mark = now
            elif (now <= rule.stop_level(mark)) if sell else (now >= rule.stop_level(mark)):
                fired = True
        states.append("fired" if fired else None if mark is None else f"x:{mark}")
    return states


def test_rules_sharing_a_series_each_trail_their_own_mark(tmp_path: Path) -> None:
    """Sells and buys, with and without activation, on one series over a random walk: each
    rule's state after every tick is what its definition says, across rebinding to the saved
    state (a new evaluate job) every few ticks. Most ticks change nothing: the matcher skips
    them without looking at the rules, and must not skip one that moves or fires a rule."""
    rng = random.Random(7)
    price, path = Decimal(100), []
    for _ in range(400):
        price += Decimal(rng.choice((-3, -2, -1, 1, 2, 3))) / 10
        path.append(price)
    # Some rules start from marks saved before (trailed since earlier, e.g. before a reload
    # added the others): the marks and stop levels of one side differ, the last ones' most.
    saved = {
        k: Decimal(v) for k, v in (("id2", "100.8"), ("id4", "99.4"), ("id5", "120"), ("id6", "80"))
    }
    book = TrailingBook()
    rules = []
    for n, spec in enumerate(SPECS):
        rule = _rule(tmp_path, spec).model_copy(update={"name": f"t{n}", "id": f"id{n}"})
        rules.append(rule)
        book.add(rule)
    matcher = book.matcher().bind(KindState({k: f"x:{v}" for k, v in saved.items()}))
    seen: dict[str, list[str | None]] = {rule.id: [] for rule in rules}
    fired: list[int] = []
    prev: Decimal | None = None
    for i, now in enumerate(path):
        if i % 13 == 0:  # a new job: the saved fields, bound afresh
            matcher = book.matcher().bind(KindState(matcher.state.fields))
        fired += matcher.candidates("okx", "BTC-USDT", "last", prev, now, i)
        for rule in rules:
            seen[rule.id].append(matcher.state.get(rule.id))
        prev = now
    for position, rule in enumerate(rules):
        expected = _reference(rule, path, saved.get(rule.id))
        assert seen[rule.id] == expected, rule.id
        assert fired.count(position) == (1 if "fired" in expected else 0)  # once, if ever
    assert len(set(fired)) >= 4  # the walk fires most of them
