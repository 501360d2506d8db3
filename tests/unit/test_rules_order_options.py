"""`hold`, `expires` and `for` on the emulated order kinds, on scripted paths of (exchange ms,
price) ticks against the matchers and their stream state (no Redis): a wick shorter than the
hold fires nothing, one that lasts fires at the expected tick, an armed order past its deadline
expires once and never fires; the timers survive a hand-over to another worker's matcher."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rules.actions import ExpireOrder, PlaceOrder
from rules.emulated import EmulatedRule, summary
from rules.kinds import Dispatch, KindState
from rules.load import RuleLoadError, load_rules
from rules.stop import TriggerMatcher
from tests.unit.test_rules_load import CHANNELS, write
from watcher.events import EmulatedOrder, OrderArming

T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
SELL = "market: BTC-USDT, account: main, side: sell, size: '0.5'"
BUY = "market: BTC-USDT, account: main, side: buy, size: '0.5'"
OCO = f"{SELL}, take_profit: {{trigger: '65000'}}, stop: {{trigger: '59000'}}"
BRACKET = "market: BTC-USDT, account: main, entry: buy, take_profit: '100', stop: '100'"


def _rules(tmp_path: Path, kind: str, spec: str, options: str) -> Dispatch:
    text = f"{CHANNELS}rules:\n  - name: r\n    {kind}: {{{spec}}}\n    notify: desk\n"
    text += "".join(f"    {line}\n" for line in options.split(";") if line)
    books = load_rules([write(tmp_path, "o.yaml", text)], env={}).books
    return Dispatch(books)


class Play:
    """One worker's matchers bound to one stream's state, fed ticks (ms after T0, price)."""

    def __init__(self, dispatch: Dispatch, state: KindState | None = None) -> None:
        self.state = state if state is not None else KindState()
        kinds = dispatch.stateful
        self.dispatch = dispatch.bound({kind: self.state for kind in kinds})

    def tick(self, after_ms: int, price: str) -> list[Any]:
        """Return the actions of what this tick fires (as the drain asks for them)."""
        ticks, now, ms = self.dispatch.ticks, Decimal(price), T0 + after_ms
        actions: list[Any] = []
        for joint in ticks.candidates("okx", "BTC-USDT", "last", None, now, ms):
            _, book, position = ticks.resolve(joint)
            rule = book[position]
            assert isinstance(rule, EmulatedRule)
            rule.render_tick(now, None, ms, "", "")  # the drain renders first, then acts
            actions.extend(rule.tick_actions(now, None, ms, "", ""))
        return actions

    def path(self, ticks: list[tuple[int, str]]) -> list[tuple[int, Any]]:
        """Return (index of the tick, action) for every action the path's ticks fire."""
        return [(i, a) for i, (ms, price) in enumerate(ticks) for a in self.tick(ms, price)]


# kind, spec, options, path of (ms after T0, price), the index of the tick that fires.
HOLDS = [
    pytest.param(
        "stop", f"{SELL}, trigger: '59800'", "hold: 5s",
        [(0, "60000"), (1000, "59700"), (5999, "59600"), (6000, "59900"), (7000, "59800"),
         (11_999, "59750"), (12_000, "59790")],
        6,  # the wick at 1000 ended at 6000 (1 ms short): reset; 7000 + 5 s = 12000
        id="stop-sell-wick-then-held",
    ),
    pytest.param(
        "stop", f"{BUY}, trigger: '60200', price: '60250'", "hold: 2s",
        [(0, "60300"), (1000, "60199"), (2000, "60200"), (4000, "60201")],
        3,  # beyond at the first tick, back under at 1000, beyond again from 2000: fires at 4000
        id="stop-limit-buy",
    ),
    pytest.param(
        "take_profit", f"{SELL}, trigger: '65000'", "hold: 1s",
        [(0, "65000"), (500, "64999"), (600, "65100"), (1500, "65200"), (1600, "65300")],
        4,
        id="take-profit-sell",
    ),
    pytest.param(
        "take_profit", f"{BUY}, trigger: '59000'", "hold: 3s",
        [(0, "58000"), (2000, "58500"), (2999, "58900"), (3000, "58800"), (9000, "58000")],
        3,
        id="take-profit-buy-held-from-the-first-tick",
    ),
    pytest.param(
        "trailing", f"{SELL}, callback: '100'", "hold: 2s",
        # high 61000 (stop 60900); under it at 1000, back above at 2000 (reset), under from
        # 3000: held at 5000
        [(0, "61000"), (1000, "60850"), (2000, "60950"), (3000, "60900"), (4999, "60800"),
         (5000, "60880")],
        5,
        id="trailing-sell",
    ),
    pytest.param(
        "trailing", f"{BUY}, callback: '100', activation: '60000'", "hold: 2s",
        # active at 59800 (low; stop 59900); a new low at 2000 resets the hold (stop 59800)
        [(0, "60500"), (1000, "59800"), (1500, "59950"), (2000, "59700"), (2500, "59800"),
         (4000, "59850"), (4500, "59900")],
        6,  # 59800 reached at 2500, held to 4500
        id="trailing-buy-new-low-resets",
    ),
    pytest.param(
        "oco", OCO, "hold: 2s",
        # the take-profit leg's hold starts at 1000, the stop's at 1500 (the other resets)
        [(0, "62000"), (1000, "65100"), (1500, "58900"), (3000, "65200"), (3400, "58800"),
         (5400, "58700")],
        5,
        id="oco-each-leg-its-own-hold",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "spec", "options", "path", "fires"), HOLDS)
def test_a_hold_fires_once_the_trigger_held_that_long(
    tmp_path: Path, kind: str, spec: str, options: str, path: list[tuple[int, str]], fires: int
) -> None:
    play = Play(_rules(tmp_path, kind, spec, options))
    fired = play.path([*path, (path[-1][0] + 60_000, path[-1][1])])  # and never again
    assert [i for i, _ in fired] == [fires]
    [(_, action)] = fired
    assert isinstance(action, PlaceOrder)
    assert action.fired_at == Decimal(path[fires][1])


def test_without_a_hold_the_same_wick_fires_at_once(tmp_path: Path) -> None:
    play = Play(_rules(tmp_path, "stop", f"{SELL}, trigger: '59800'", ""))
    assert [i for i, _ in play.path([(0, "60000"), (1000, "59700"), (1500, "59900")])] == [1]


def test_the_oco_leg_that_held_is_the_one_placed(tmp_path: Path) -> None:
    play = Play(_rules(tmp_path, "oco", OCO, "hold: 2s"))
    [(_, action)] = play.path([(0, "65100"), (1000, "58900"), (3000, "58800")])
    assert isinstance(action, PlaceOrder)
    assert (action.leg, action.cancels, action.trigger) == ("stop", "take_profit", Decimal(59000))


def test_a_trailing_stop_held_places_at_the_stop_level_it_held(tmp_path: Path) -> None:
    play = Play(_rules(tmp_path, "trailing", f"{SELL}, callback: '100'", "hold: 2s"))
    [(_, action)] = play.path([(0, "61000"), (1000, "60700"), (3000, "60600")])
    assert isinstance(action, PlaceOrder)
    assert action.trigger == Decimal(60900)


def test_a_bracket_exit_holds_after_its_arming(tmp_path: Path) -> None:
    dispatch = _rules(tmp_path, "bracket", BRACKET, "hold: 2s")
    play = Play(dispatch)
    [rule] = dispatch.books["bracket"]
    [consumer] = play.dispatch.events["arming"]
    arming = OrderArming(
        venue="okx", at=datetime.fromtimestamp(T0 / 1000, UTC), account="main",
        market="BTC-USDT", rule=rule.id, arming=f"{rule.id}:t1", size=Decimal(1),
        take_profit=Decimal(60100), stop=Decimal(59900),
    )  # fmt: skip
    assert play.path([(0, "59800")]) == []  # not armed yet
    consumer.matcher.match(arming)
    fired = play.path([(1000, "59850"), (2000, "60000"), (2500, "60150"), (4000, "60100"),
                       (4500, "60200")])  # fmt: skip
    assert [i for i, _ in fired] == [4]  # the stop's hold reset at 2000, the take-profit held


def test_a_hold_survives_a_hand_over_to_another_worker(tmp_path: Path) -> None:
    """The timer is in the stream's state: a new worker, loading what the last batch saved,
    completes the hold the killed one started."""
    spec, options = f"{SELL}, trigger: '59800'", "hold: 5s"
    first = Play(_rules(tmp_path, "stop", spec, options))
    assert first.path([(0, "59700"), (3000, "59600")]) == []
    saved, _ = first.state.take()
    second = Play(_rules(tmp_path, "stop", spec, options), KindState(saved))
    assert [i for i, _ in second.path([(4999, "59700"), (5000, "59700")])] == [1]


# kind, spec, options, path, the index of the tick that expires it, its deadline (ms after T0).
EXPIRIES = [
    pytest.param(
        "stop", f"{SELL}, trigger: '59800'", "expires: 2026-01-05T08:00:10Z",
        [(0, "60000"), (9999, "59900"), (10_000, "59900"), (11_000, "59000")],
        2, 10_000,
        id="stop-expires",
    ),
    pytest.param(
        "stop", f"{SELL}, trigger: '59800'", "expires: 2026-01-05T08:00:10Z;hold: 5s",
        [(0, "60000"), (6000, "59700"), (10_000, "59700"), (11_000, "59600")],
        2, 10_000,  # its hold would have ended at 11000: it expired first
        id="stop-expires-while-held",
    ),
    pytest.param(
        "take_profit", f"{SELL}, trigger: '65000'", "for: 30s",
        [(5000, "64000"), (34_999, "64500"), (35_000, "66000"), (36_000, "66000")],
        2, 35_000,  # 30 s after the first tick evaluated it
        id="take-profit-for",
    ),
    pytest.param(
        "trailing", f"{SELL}, callback: '100'", "for: 10s",
        [(0, "61000"), (5000, "61500"), (12_000, "61450"), (13_000, "60000")],
        2, 10_000,
        id="trailing-for",
    ),
    pytest.param(
        "oco", OCO, "expires: 2026-01-05T08:01:00Z",
        [(0, "62000"), (59_000, "64000"), (61_000, "63000"), (62_000, "58000")],
        2, 60_000,
        id="oco-expires",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "spec", "options", "path", "expires", "deadline"), EXPIRIES)
def test_an_armed_order_past_its_deadline_expires_once_and_never_fires(
    tmp_path: Path,
    kind: str,
    spec: str,
    options: str,
    path: list[tuple[int, str]],
    expires: int,
    deadline: int,
) -> None:
    play = Play(_rules(tmp_path, kind, spec, options))
    fired = play.path(path)
    assert [i for i, _ in fired] == [expires]
    [(_, action)] = fired
    assert isinstance(action, ExpireOrder)
    assert (action.order, action.deadline_ms) == (kind, T0 + deadline)
    assert action.trigger == (Decimal(59800) if kind == "stop" else None if kind != "take_profit"
                              else Decimal(65000))  # fmt: skip


def test_an_order_that_fired_never_expires(tmp_path: Path) -> None:
    play = Play(_rules(tmp_path, "stop", f"{SELL}, trigger: '59800'", "for: 10s"))
    fired = play.path([(0, "59000"), (20_000, "58000")])
    assert [(i, type(a)) for i, a in fired] == [(0, PlaceOrder)]


def test_an_expired_summary_says_by_when() -> None:
    event = EmulatedOrder(
        venue="okx", at=datetime(2026, 1, 5, 8, tzinfo=UTC), account="main", market="BTC-USDT",
        rule="r", order="stop", state="expired", client_order_id="kx1", side="sell",
        size=Decimal("0.5"), ord_type="market", trigger=Decimal(59800),
        reason="not triggered by 2026-01-05T08:00:10.000Z",
    )  # fmt: skip
    assert summary(event) == "stop BTC-USDT expired: not triggered by 2026-01-05T08:00:10.000Z"


def test_rules_without_options_keep_the_plain_matchers(tmp_path: Path) -> None:
    plain = _rules(tmp_path, "stop", f"{SELL}, trigger: '59800'", "quiet: '22:00-07:00 UTC'")
    assert type(plain.matchers["stop"]) is TriggerMatcher


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("hold: 0s", "7: KX205 hold: "),
        ("hold: soon", "7: KX205 hold: "),
        ("hold: 2d", "7: KX205 hold: "),
        ("expires: tomorrow", "7: KX"),
        ("expires: 2026-01-05T08:00:10", "7: KX"),
        ("for: 5", "7: KX205 for: "),
        ("expires: 2026-01-05;for: 1d", "8: KX"),
        ("rearm: 100", "7: KX"),
    ],
)
def test_bad_values_are_errors_at_their_line_with_a_code(
    tmp_path: Path, options: str, expected: str
) -> None:
    text = f"{CHANNELS}rules:\n  - name: r\n    stop: {{{SELL}, trigger: '59800'}}\n"
    text += "    notify: desk\n" + "".join(f"    {line}\n" for line in options.split(";"))
    path = write(tmp_path, "o.yaml", text)
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path], env={})
    found = [f"{p.path}:{p.line}: {p.code.number} {p.message}" for p in caught.value.problems]
    assert [line for line in found if line.startswith(f"{path}:{expected}")], found
    option = options.split(";")[-1].split(":")[0]
    assert all(f" {option}: " in line for line in found), found
