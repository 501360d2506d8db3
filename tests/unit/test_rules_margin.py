"""Margin rules on scripted paths of position and account updates (pure: the real matcher, no
Redis): which fire when, their messages, and file:line errors for every bad value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rules.kinds import KindState
from rules.margin import MarginMatcher, MarginRule, StatefulMarginMatcher
from tests.scripted import Worker, ruleset
from watcher.errors import ConfigError
from watcher.events import AccountUpdate, Event, PositionUpdate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = 1000


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def pos(
    t: float,
    size: str = "1",
    *,
    market: str = "BTC-USDT-SWAP",
    side: str = "net",
    account: str = "main",
    ratio: str | None = None,
    mark: str | None = None,
    liq: str | None = None,
    pnl: str | None = None,
    warning: bool = False,
    opened: float | None = None,
) -> PositionUpdate:
    def d(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)

    return PositionUpdate(
        venue="okx",
        account=account,
        market=market,
        side=side,
        size=Decimal(size),
        avg_price=Decimal("60000"),
        mark_price=d(mark),
        liquidation_price=d(liq),
        margin_ratio=d(ratio),
        unrealized_pnl=d(pnl),
        opened_at=None if opened is None else at(opened),
        warning=warning,
        at=at(t),
    )


def acct(t: float, ratio: str, equity: str = "10000") -> AccountUpdate:
    return AccountUpdate(
        venue="okx",
        account="main",
        margin_ratio=Decimal(ratio),
        total_equity=Decimal(equity),
        at=at(t),
    )


def fired(tmp_path: Path, rules: str, events: list[Event]) -> list[tuple[str, float]]:
    worker = Worker(ruleset(tmp_path, rules))
    for event in events:
        worker.event(event)
    return [(name, (ms - int(T0.timestamp() * 1000)) / 1000) for name, ms in worker.fired]


def rule(spec: str, extra: str = "", name: str = "m") -> str:
    return f"  - {{name: {name}, notify: desk, margin: {{{spec}}}{extra}}}\n"


PATHS: list[tuple[str, str, list[Event], list[tuple[str, float]]]] = [
    (
        "a position's margin ratio below 3: reminded every 15 minutes while below",
        rule("market: BTC-USDT-SWAP, ratio_below: 3"),
        [pos(0, ratio="5"), pos(5, ratio="2.9"), pos(10, ratio="2.5"), pos(900, ratio="4"),
         pos(905, ratio="2")],
        [("m", 5), ("m", 905)],
    ),
    (
        "the account's margin ratio (no market): account updates only",
        rule("account: main, ratio_above: 10", ", repeat: once"),
        [pos(0, ratio="20"), acct(1, "9"), acct(2, "11"), acct(3, "12")],
        [("m", 2)],
    ),
    (
        "liquidation distance from the mark price, in %",
        rule("liq_distance_below: '5%'", ", cooldown: 1s"),
        [pos(0, mark="60000", liq="56000"), pos(1, mark="60000", liq="57000"),
         pos(2, mark="60000", liq="57001"), pos(3, mark="60000"), pos(4, size="-1", mark="60000",
         liq="62400")],
        [("m", 2), ("m", 4)],
    ),
    (
        "unrealized PnL below a level, held 10 s",
        rule("pnl_below: -500", ", hold: 10s, cooldown: 1m"),
        [pos(0, pnl="-600"), pos(5, pnl="-700"), pos(8, pnl="-400"), pos(9, pnl="-600"),
         pos(18, pnl="-550"), pos(19, pnl="-800")],
        [("m", 19)],
    ),
    (
        "rearm: once per arming, re-armed at or above level + 1",
        rule("market: BTC-USDT-SWAP, ratio_below: 3", ", rearm: 1"),
        [pos(0, ratio="2"), pos(1, ratio="1.5"), pos(2, ratio="3.5"), pos(3, ratio="2.5"),
         pos(4, ratio="4"), pos(5, ratio="2.9")],
        [("m", 0), ("m", 5)],
    ),
    (
        "liquidation warnings: each one",
        rule("warning: true"),
        [pos(0, ratio="1.2"), pos(1, ratio="1.1", warning=True), pos(2, warning=True)],
        [("m", 1), ("m", 2)],
    ),
    (
        "opened and closed: a position opened a minute ago or less, a size reaching zero",
        rule("position: opened", name="open") + rule("position: closed", name="close"),
        [pos(100, "2", opened=0), pos(101, "1", market="ETH-USDT-SWAP", opened=95),
         pos(102, "2"), pos(103, "0"), pos(104, "0"), pos(105, "-1"),
         pos(106, "0", market="ETH-USDT-SWAP")],
        [("open", 101), ("close", 103), ("open", 105), ("close", 106)],
    ),
    (
        "filters: side and account",
        rule("side: long, account: main, pnl_below: 0", ", repeat: once"),
        [pos(0, pnl="-1", side="short"), pos(1, pnl="-1", account="other", side="long"),
         pos(2, pnl="-1", side="long")],
        [("m", 2)],
    ),
    (
        "expires: nothing fires at or after it",
        rule("warning: true", ", expires: '2026-03-01T12:00:05Z'"),
        [pos(1, warning=True), pos(5, warning=True), pos(6, warning=True)],
        [("m", 1)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "rules", "events", "expected"), PATHS, ids=[p[0] for p in PATHS])
def test_margin_rules_on_scripted_paths(
    tmp_path: Path, case: str, rules: str, events: list[Event], expected: list[tuple[str, float]]
) -> None:
    assert fired(tmp_path, rules, events) == expected


def test_position_sizes_follow_the_stream_through_its_kind_state(tmp_path: Path) -> None:
    loaded = ruleset(tmp_path, rule("position: closed"))
    matcher = loaded.books["margin"].matcher()
    assert isinstance(matcher, StatefulMarginMatcher)
    state = KindState()
    assert matcher.bind(state).match(pos(0, "1")) == []
    assert state.fields == {"pos|okx|main|BTC-USDT-SWAP|net": "1"}
    other = loaded.books["margin"].matcher()
    assert isinstance(other, StatefulMarginMatcher)
    assert other.bind(KindState(state.fields)).match(pos(1, "0")) == [0]


def test_levels_without_options_keep_no_state(tmp_path: Path) -> None:
    loaded = ruleset(tmp_path, rule("pnl_below: 0"))
    matcher = loaded.books["margin"].matcher()
    assert type(matcher) is MarginMatcher
    assert not hasattr(matcher, "bind")


@pytest.mark.parametrize(
    ("spec", "event", "message"),
    [
        ("liq_distance_below: '5%'", pos(0, mark="60000.5", liq="57100"),
         "[m] okx/main BTC-USDT-SWAP: liquidation 4.83% away (mark 60000.5, liq 57100),"
         " under 5%"),
        ("ratio_below: 3", acct(0, "2.5"), "[m] okx/main: margin ratio 2.5 below 3"),
        ("pnl_below: -500", pos(0, pnl="-620.5"),
         "[m] okx/main BTC-USDT-SWAP: unrealized PnL -620.5 below -500"),
        ("warning: true", pos(0, ratio="1.05", mark="59000", warning=True),
         "[m] okx/main BTC-USDT-SWAP: liquidation warning (margin ratio 1.05, mark 59000)"),
        ("position: opened", pos(0, "0.5", side="long", opened=0),
         "[m] okx/main BTC-USDT-SWAP: position opened: long 0.5 @ 60000"),
        ("position: closed", pos(0, "0"), "[m] okx/main BTC-USDT-SWAP: position closed"),
    ],
)  # fmt: skip
def test_default_messages(tmp_path: Path, spec: str, event: Event, message: str) -> None:
    (margin,) = ruleset(tmp_path, rule(spec)).rules()
    assert isinstance(margin, MarginRule)
    assert margin.render_event(event) == message


def test_placeholders(tmp_path: Path) -> None:
    text = (
        "{subject} {side} {size} {avg_price} {mark} {liq_price} {distance} {ratio} {pnl}"
        " {notional} {level} {condition} {time}"
    )
    (margin,) = ruleset(tmp_path, rule("pnl_below: 0", f", message: '{text}'")).rules()
    event = pos(0, ratio="3", mark="61000", liq="50000", pnl="-1").model_copy(
        update={"notional": Decimal("61000")}
    )
    assert margin.render_event(event) == (
        "okx/main BTC-USDT-SWAP net 1 60000 61000 50000 18.03 3 -1 61000 0 pnl_below"
        " 2026-03-01T12:00:00.000Z"
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("{}", "margin: give exactly one of ratio_below, ratio_above, liq_distance_below,"
         " pnl_below, warning, position"),
        ("{pnl_below: 1, warning: true}", "margin: has both pnl_below and warning; give"),
        ("{ratio_below: 0}", "margin.ratio_below: '0' must be greater than zero"),
        ("{ratio_above: x}", "margin.ratio_above: 'x' is not a decimal number"),
        ("{liq_distance_below: '150%'}", "margin.liq_distance_below: must be a percentage"),
        ("{warning: false}", "margin.warning: write `warning: true`"),
        ("{position: flipped}", "margin.position: 'flipped' is not one of: opened, closed"),
        ("{side: buy, warning: true}", "margin.side: 'buy' is not one of: long, short, net"),
        ("{venue: OKX, warning: true}", "margin.venue: 'OKX' is not valid"),
        ("{account: 'a b', warning: true}", "margin.account: 'a b' is not valid"),
        ("{colour: red, warning: true}", "margin: unknown key 'colour'"),
    ],
)  # fmt: skip
def test_each_bad_value_is_an_error_at_its_line(tmp_path: Path, spec: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, f"  - name: m\n    notify: desk\n    margin: {spec}\n")
    (error,) = caught.value.errors
    assert error.startswith(f"{path}:6: {message}")


@pytest.mark.parametrize(
    ("spec", "extra", "message"),
    [
        ("pnl_below: 0", ", repeat: every", "repeat: every would fire on every update"),
        ("warning: true", ", hold: 5s", "hold: margin warning rules fire on single events"),
        ("position: opened", ", rearm: 1", "rearm: margin position rules fire on single"),
    ],
)
def test_options_that_do_not_fit_are_errors(
    tmp_path: Path, spec: str, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, rule(spec, extra))
    (error,) = caught.value.errors
    assert message in error
