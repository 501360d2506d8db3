"""Rules on the configured venues: a rule (or table row) that names no venue is on the one
configured, and an error at its file:line when several are; the workers load on the same venues."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from rules.fill import FillRule
from rules.load import load_rules
from rules.price import PriceRule
from watcher.errors import ConfigError
from watcher.published import publish
from workers import context

CHANNELS = 'channels: {desk: "json://127.0.0.1:9/x"}\n'
# Each venue spells its markets its own way: BTC-USDT on OKX, linear:BTCUSDT on Bybit.
BTC = {"okx": "BTC-USDT", "bybit": "linear:BTCUSDT"}
RULES = (
    CHANNELS + "rules:\n"
    "  - name: btc\n"
    "    notify: desk\n"
    '    price: {market: BTC-USDT, above: "65000"}\n'  # line 5: no venue
    "  - name: eth\n"
    "    notify: desk\n"
    '    price: {venue: okx, market: ETH-USDT, above: "3000"}\n'
    "  - {name: fills, notify: desk, fill: {}}\n"  # a filter: no venue means any venue
)
TABLE = CHANNELS + "tables:\n  - file: levels.csv\n    notify: [desk]\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def errors_of(paths: list[Path], venues: tuple[str, ...]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rules(paths, env={}, venues=venues)
    return caught.value.errors


@pytest.mark.parametrize("venue", ["okx", "bybit"])
def test_a_rule_without_venue_is_on_the_one_configured(tmp_path: Path, venue: str) -> None:
    path = write(tmp_path / "r.yaml", RULES.replace(BTC["okx"], BTC[venue], 1))
    btc, eth = load_rules([path], env={}, venues=(venue,)).of(PriceRule)
    assert (btc.venue, eth.venue) == (venue, "okx")


def test_the_filled_in_venue_keeps_the_rule_id(tmp_path: Path) -> None:
    implicit = write(tmp_path / "a.yaml", RULES)
    explicit = write(tmp_path / "b.yaml", RULES.replace("{market: BTC", "{venue: okx, market: BTC"))
    (a, _), (b, _) = (load_rules([p], env={}).of(PriceRule) for p in (implicit, explicit))
    assert a.id == b.id  # default venues: okx, as before venues were configurable


def test_a_rule_without_venue_is_an_error_when_two_venues_are_configured(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", RULES)
    assert errors_of([path], ("okx", "bybit")) == [
        f"{path}:5: price: no venue given, and 2 venues are configured (okx, bybit): name one"
    ]
    assert errors_of([path], ()) == [f"{path}:5: price: no venue given, and no venue is configured"]
    on_bybit = RULES.replace("{market: BTC-USDT", "{venue: bybit, market: linear:BTCUSDT")
    named = write(tmp_path / "r.yaml", on_bybit)
    ruleset = load_rules([named], env={}, venues=("okx", "bybit"))
    assert [r.venue for r in ruleset.of(PriceRule)] == ["bybit", "okx"]
    assert [r.venue for r in ruleset.of(FillRule)] == [None]


def test_table_rows_without_venue(tmp_path: Path) -> None:
    rows = "name,market,op,level,venue\na,linear:BTCUSDT,above,1,\nb,BTC-USDT,above,2,okx\n"
    write(tmp_path / "levels.csv", rows)
    path = write(tmp_path / "r.yaml", TABLE)
    a, b = load_rules([path], env={}, venues=("bybit",)).of(PriceRule)
    assert (a.venue, b.venue) == ("bybit", "okx")
    assert errors_of([path], ("okx", "bybit")) == [
        f"{tmp_path}/levels.csv:2: venue: empty, and 2 venues are configured (okx, bybit): name one"
    ]
    write(tmp_path / "levels.csv", "name,market,op,level\na,BTC-USDT,above,1\n")
    assert errors_of([path], ("okx", "bybit")) == [
        f"{tmp_path}/levels.csv:1: header: no venue column, and 2 venues are configured "
        "(okx, bybit): name one"
    ]


@pytest.fixture
def _no_worker_rules() -> Iterator[None]:
    yield
    context.uninstall()


@pytest.mark.usefixtures("_no_worker_rules")
def test_the_worker_loads_and_reloads_on_the_configured_venues(
    tmp_path: Path, r: redis.Redis
) -> None:
    path = write(tmp_path / "r.yaml", RULES.replace(BTC["okx"], BTC["bybit"], 1))
    with pytest.raises(ConfigError, match=r"r\.yaml:5: price: no venue given"):
        context.follow([path], env={}, venues=("okx", "bybit"))
    context.follow([path], env={}, interval=0.0, venues=("bybit",))
    assert [rule.venue for rule in context.current(r).ruleset.of(PriceRule)] == ["bybit", "okx"]
    # A reload reads the files on the same venues: still bybit, not the default.
    write(path, RULES.replace(BTC["okx"], BTC["bybit"], 1).replace('"65000"', '"66000.5"'))
    new = load_rules([path], env={}, venues=("bybit",))
    publish(r, new.version, new.markets())
    rules = context.current(r).ruleset.of(PriceRule)
    assert [str(rule.level) for rule in rules] == ["66000.5", "3000"]
    assert rules[0].venue == "bybit"
