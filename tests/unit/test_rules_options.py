"""Rule options (hold, rearm, expires or for, quiet): read from a rule file with file:line
errors, and applied on scripted price paths (pure: the real matchers, no Redis)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from rules.actions import Notify
from rules.price import PriceRule
from rules.timing import Options, Quiet, Rearm
from tests.scripted import fired, ruleset
from watcher.errors import ConfigError

S = 1000  # ms
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def utc_ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def rule_with(tmp_path: Path, options: str, spec: str = "above: 100") -> PriceRule:
    loaded = ruleset(
        tmp_path, f"  - {{name: r, notify: desk, price: {{market: BTC-USDT, {spec}}}, {options}}}\n"
    )
    (rule,) = loaded.rules()
    assert isinstance(rule, PriceRule)
    return rule


PARIS = Quiet(start=1410, end=360, zone="Europe/Paris")
NEW_YEARS_EVE = utc_ms("2026-12-31T00:00:00+00:00")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("hold: 5s", Options(hold_ms=5000)),
        ("hold: 1h30m", Options(hold_ms=5_400_000)),
        ("rearm: 50", Options(rearm=Rearm(amount=Decimal(50)))),
        ('rearm: "0.5%"', Options(rearm=Rearm(amount=Decimal("0.5"), percent=True))),
        ("expires: 2026-12-31T00:00Z", Options(expires_ms=NEW_YEARS_EVE)),
        ("expires: 2026-12-31", Options(expires_ms=NEW_YEARS_EVE)),
        ("expires: 2026-12-31T02:00+02:00", Options(expires_ms=NEW_YEARS_EVE)),
        ("for: 7d", Options(for_ms=7 * 86_400_000)),
        ('quiet: "22:00-07:00 UTC"', Options(quiet=Quiet(start=1320, end=420))),
        ('quiet: "23:30-06:00 Europe/Paris"', Options(quiet=PARIS)),
        ('quiet: "12:00-13:00"', Options(quiet=Quiet(start=720, end=780))),
        ('quiet: "12:00-13:00 utc"', Options(quiet=Quiet(start=720, end=780))),
    ],
)  # fmt: skip
def test_options_are_read(tmp_path: Path, options: str, expected: Options) -> None:
    assert rule_with(tmp_path, options).options == expected


def test_a_rule_without_options_keeps_its_id_and_options_change_it(tmp_path: Path) -> None:
    plain = rule_with(tmp_path, "repeat: once")
    assert plain.options == Options()
    assert rule_with(tmp_path, "hold: 5s").id != plain.id
    assert rule_with(tmp_path, 'quiet: "22:00-07:00"').id != plain.id
    assert rule_with(tmp_path, "hold: 5s").id == rule_with(tmp_path, "hold: 5s").id


def test_rearm_makes_the_rule_claim_each_arming(tmp_path: Path) -> None:
    rule = rule_with(tmp_path, "rearm: 50")
    assert rule.repeat.kind == "every"


def test_quiet_hours_ride_on_each_notify_action(tmp_path: Path) -> None:
    quiet = Quiet(start=1320, end=420)
    assert rule_with(tmp_path, 'quiet: "22:00-07:00 UTC"').actions() == (Notify("desk", quiet),)


def _error(tmp_path: Path, rules: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, rules)
    return [e.split(": ", 1)[1] for e in caught.value.errors]


@pytest.mark.parametrize(
    ("options", "line", "message"),
    [  # the option is on line 7
        ("hold: 5", 7, "hold: needs a unit (e.g. 30s, 5m, 1h, 1h30m, 1d)"),
        ("hold: 5 minutes", 7, "hold: bad duration '5 minutes'"),
        ("hold: 2d", 7, "hold: bad duration '2d': at most 1d"),
        ("for: 400d", 7, "for: bad duration '400d': at most 366d"),
        (
            "for: 99999999999999999999999999d",
            7,
            "for: bad duration '999999999999999999999999...': at most 366d",
        ),
        ("rearm: 0", 7, "rearm: '0' must be greater than zero"),
        ("rearm: -5", 7, "rearm: '-5' must be greater than zero"),
        ('rearm: "150%"', 7, "rearm: '150%' is not a percentage above 0, below 100"),
        ("rearm: 1e999999999", 7, "rearm: '1e999999999' is too large"),
        ("expires: tomorrow", 7, "expires: 'tomorrow' is not a time such as 2026-12-31T00:00Z"),
        ("expires: 2026-12-31T00:00", 7, "expires: '2026-12-31T00:00' has no time zone"),
        ('quiet: "22-07"', 7, "quiet: '22-07' is not hours such as"),
        ('quiet: "25:00-07:00"', 7, "quiet: '25:00-07:00' is not hours such as"),
        ('quiet: "07:00-07:00"', 7, "quiet: '07:00-07:00' is not hours such as"),
        ('quiet: "22:00-07:00 Mars/Base"', 7, "quiet: unknown time zone 'Mars/Base'"),
        ('quiet: "22:00-07:00 Europe"', 7, "quiet: unknown time zone 'Europe'"),
        ('quiet: "22:00-07:00 ../etc/passwd"', 7, "quiet: unknown time zone '../etc/passwd'"),
        ("quiet: 22", 7, "quiet: expected a string, got a number (quote it)"),
    ],
)
def test_each_bad_option_is_an_error_at_its_line(
    tmp_path: Path, options: str, line: int, message: str
) -> None:
    rules = (
        f"  - name: r\n    notify: desk\n    price: {{market: BTC-USDT, above: 1}}\n    {options}\n"
    )
    path = tmp_path / "rules.yaml"
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, rules)
    (error,) = caught.value.errors
    assert error.startswith(f"{path}:{line}: {message}")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{name: r, notify: desk, price: {market: BTC-USDT, above: 1}, expires: 2026-01-01,"
         " for: 1d}",
         "for: give `expires` or `for`, not both"),
        ("{name: r, notify: desk, price: {market: BTC-USDT, above: 1}, rearm: 5, cooldown: 1m}",
         "rearm: re-arms a once-rule; remove `repeat` or `cooldown`"),
        ("{name: r, notify: desk, fill: {}, hold: 5s}",
         "hold: fill rules fire on single events: there is no level to hold"),
        ("{name: r, notify: desk, order: {}, rearm: 5}",
         "rearm: order rules fire on single events: there is no level to rearm"),
    ],
)  # fmt: skip
def test_options_that_do_not_fit_the_rule_are_errors(
    tmp_path: Path, rule: str, message: str
) -> None:
    assert _error(tmp_path, f"  - {rule}\n") == [message]


# --- on scripted paths: (ms, price) ticks of BTC-USDT, and the (rule, ms) that fire ---------

PATHS: list[tuple[str, str, list[tuple[int, str]], list[tuple[str, int]]]] = [
    (
        "hold: fires on the first tick at or after 5 s above, not on a wick",
        "{name: h, notify: desk, price: {market: BTC-USDT, above: 100}, hold: 5s}",
        [(0, "99"), (1 * S, "101"), (3 * S, "99"), (4 * S, "102"), (8 * S, "103"),
         (9 * S, "101"), (10 * S, "104")],
        [("h", 9 * S)],
    ),
    (
        "hold on a crossing: the crossing starts it, staying at or above the level holds it",
        "{name: h, notify: desk, price: {market: BTC-USDT, crosses_up: 100}, hold: 2s}",
        [(0, "105"), (1 * S, "101"), (2 * S, "99"), (3 * S, "100"), (4 * S, "100"),
         (5 * S, "100.5")],
        [("h", 5 * S)],
    ),
    (
        "hold with a cooldown: a firing ends the hold; the next starts on the next tick",
        "{name: h, notify: desk, price: {market: BTC-USDT, above: 100}, hold: 2s, cooldown: 1s}",
        [(0, "101"), (1 * S, "101"), (2 * S, "101"), (3 * S, "101"), (4 * S, "101"),
         (5 * S, "99"), (6 * S, "101"), (8 * S, "101")],
        [("h", 2 * S), ("h", 8 * S)],
    ),
    (
        "rearm: once per arming; re-armed only at or below level - 50",
        "{name: r, notify: desk, price: {market: BTC-USDT, crosses_up: 1000}, rearm: 50}",
        [(0, "990"), (1 * S, "1001"), (2 * S, "960"), (3 * S, "1002"), (4 * S, "950"),
         (5 * S, "1003"), (6 * S, "1010")],
        [("r", 1 * S), ("r", 5 * S)],
    ),
    (
        "rearm on an above rule: above fires once, then again only after going back down",
        "{name: r, notify: desk, price: {market: BTC-USDT, above: 1000}, rearm: '1%'}",
        [(0, "1001"), (1 * S, "1002"), (2 * S, "995"), (3 * S, "1003"), (4 * S, "990"),
         (5 * S, "1001")],
        [("r", 0), ("r", 5 * S)],
    ),
    (
        "rearm below: re-armed at or above level + rearm",
        "{name: r, notify: desk, price: {market: BTC-USDT, below: 1000}, rearm: 10}",
        [(0, "999"), (1 * S, "1009"), (2 * S, "998"), (3 * S, "1010"), (4 * S, "997")],
        [("r", 0), ("r", 4 * S)],
    ),
    (
        "expires: nothing fires at or after the time",
        "{name: e, notify: desk, price: {market: BTC-USDT, above: 100}, cooldown: 1s,"
        " expires: '2026-01-01T00:00:05Z'}",
        [(T0, "101"), (T0 + 4 * S, "101"), (T0 + 5 * S, "101"), (T0 + 9 * S, "101")],
        [("e", T0), ("e", T0 + 4 * S)],
    ),
    (
        "for: counted from the first tick the rule saw",
        "{name: f, notify: desk, price: {market: BTC-USDT, above: 100}, cooldown: 1s, for: 3s}",
        [(10 * S, "99"), (11 * S, "101"), (12 * S, "101"), (13 * S, "101")],
        [("f", 11 * S), ("f", 12 * S)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "rule", "path", "expected"), PATHS, ids=[p[0] for p in PATHS])
def test_options_on_scripted_paths(
    tmp_path: Path,
    case: str,
    rule: str,
    path: list[tuple[int, str]],
    expected: list[tuple[str, int]],
) -> None:
    assert fired(tmp_path, f"  - {rule}\n", path) == expected


def test_rules_with_options_beside_plain_ones_fire_independently(tmp_path: Path) -> None:
    rules = (
        "  - {name: plain, notify: desk, price: {market: BTC-USDT, above: 100}}\n"
        "  - {name: held, notify: desk, price: {market: BTC-USDT, above: 100}, hold: 2s}\n"
        "  - {name: eth, notify: desk, price: {market: ETH-USDT, above: 1}, hold: 1s}\n"
    )
    path = [(0, "101"), (1 * S, "101"), (2 * S, "101")]
    assert fired(tmp_path, rules, path) == [("plain", 0), ("held", 2 * S)]


@pytest.mark.parametrize(
    ("hours", "at", "until"),
    [
        ("22:00-07:00 UTC", "2026-03-10T23:10:00+00:00", "2026-03-11T07:00:00+00:00"),
        ("22:00-07:00 UTC", "2026-03-10T03:10:00+00:00", "2026-03-10T07:00:00+00:00"),
        ("22:00-07:00 UTC", "2026-03-10T07:00:00+00:00", None),
        ("22:00-07:00 UTC", "2026-03-10T21:59:59+00:00", None),
        ("12:00-13:00 UTC", "2026-03-10T12:30:00+00:00", "2026-03-10T13:00:00+00:00"),
        ("12:00-13:00 UTC", "2026-03-10T13:30:00+00:00", None),
        # Paris: UTC+1 in winter, UTC+2 from 29 March 2026 (01:00 UTC).
        ("23:00-07:00 Europe/Paris", "2026-03-10T22:30:00+00:00", "2026-03-11T06:00:00+00:00"),
        ("01:00-04:00 Europe/Paris", "2026-03-29T00:30:00+00:00", "2026-03-29T02:00:00+00:00"),
    ],
)
def test_quiet_hours_say_when_they_end(hours: str, at: str, until: str | None) -> None:
    start, _, rest = hours.partition("-")
    end, _, zone = rest.partition(" ")
    quiet = Quiet(
        start=int(start[:2]) * 60 + int(start[3:]), end=int(end[:2]) * 60 + int(end[3:]), zone=zone
    )
    assert quiet.text() == hours
    assert quiet.until(utc_ms(at)) == (utc_ms(until) if until else None)
    assert datetime.fromtimestamp(utc_ms(at) / 1000, UTC).isoformat() == at
