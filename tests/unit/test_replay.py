"""`klaxon replay`: the workers' evaluation over a CSV price path, firing lines exact to the rule
and the millisecond; once, cooldown and every as the live claims decide them; nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from klaxon.cli import main
from klaxon.replay import read_entries, replay_entries
from rules.load import load_rules
from workers.replay import Claims
from workers.state import NEW, REDELIVERED, TAKEN, ClaimRequest, ClaimResult

RULES = """\
channels:
  desk: "tgram://${TG_TOKEN}/${TG_CHAT}"   # replay builds no channel: unset is fine
rules:
  - name: btc-once
    price: {market: BTC-USDT, crosses_up: "65000"}
    notify: [desk]
    message: "{market} crossed {level} up at {price}"
  - name: btc-cooldown
    price: {market: BTC-USDT, above: "65000"}
    notify: [desk]
    cooldown: 1m
    message: "{market} above {level}: {price} (was {prev})"
  - name: btc-every
    price: {market: BTC-USDT, crosses_down: "64000"}
    notify: [desk]
    repeat: every
    message: "{market} crossed {level} down at {price}"
"""

PATH = """\
ts,market,price
2026-01-05T09:00:00Z,BTC-USDT,64950
2026-01-05T09:00:10Z,BTC-USDT,65010.5
2026-01-05T09:00:20Z,BTC-USDT,65020
2026-01-05T09:00:30Z,BTC-USDT,64900
2026-01-05T09:00:40Z,BTC-USDT,65100
2026-01-05T09:01:05Z,BTC-USDT,65150
2026-01-05T09:01:15Z,BTC-USDT,65200
# a comment, and a market no rule names
2026-01-05T09:01:16Z,ETH-USDT,3000
2026-01-05T09:01:20Z,BTC-USDT,63900
2026-01-05T09:01:30Z,BTC-USDT,64100
1767603700000,BTC-USDT,63950.00
"""

FIRED = [
    # the crossing fires the once-rule; being above fires the cooldown-rule
    "2026-01-05T09:00:10.000Z btc-once -> desk: BTC-USDT crossed 65000 up at 65010.5",
    "2026-01-05T09:00:10.000Z btc-cooldown -> desk: BTC-USDT above 65000: 65010.5 (was 64950)",
    # 09:00:20, :40 and 09:01:05 are above too, but within the minute; :40 crosses up again,
    # and the once-rule has fired for good
    "2026-01-05T09:01:15.000Z btc-cooldown -> desk: BTC-USDT above 65000: 65200 (was 65150)",
    # every crossing down fires the every-rule
    "2026-01-05T09:01:20.000Z btc-every -> desk: BTC-USDT crossed 64000 down at 63900",
    "2026-01-05T09:01:40.000Z btc-every -> desk: BTC-USDT crossed 64000 down at 63950.00",
]


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    for name in ("TG_TOKEN", "TG_CHAT", "KLAXON_ACCOUNTS"):
        monkeypatch.delenv(name, raising=False)
    rules, path = tmp_path / "rules.yaml", tmp_path / "path.csv"
    rules.write_text(RULES)
    path.write_text(PATH)
    return rules, path


def test_replay_prints_each_firing_with_its_time_rule_and_message(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rules, path = files
    assert main(["replay", str(rules), "--from", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == FIRED
    assert err.strip() == f"replayed 11 entries (11 ticks and events) from {path}: 5 firings"


def test_a_cooldown_ends_on_the_paths_clock_not_the_wall_clock(files: tuple[Path, Path]) -> None:
    rules, path = files
    ruleset = load_rules([rules], env={"TG_TOKEN": "t", "TG_CHAT": "c"})
    # Above the level for 59 s of path time: one cooldown firing; at 61 s, the next one.
    fast = path.with_name("fast.csv")
    fast.write_text(
        "ts,market,price\n"
        + "".join(f"{1767603600000 + s * 1000},BTC-USDT,{65001 + s}\n" for s in range(60))
        + "1767603661000,BTC-USDT,65100\n"
    )
    fired, engine = replay_entries(ruleset, read_entries(fast, ["okx"]))
    assert [(f.rule, f.at_ms - 1767603600000) for f in fired] == [
        ("btc-cooldown", 0),
        ("btc-cooldown", 61_000),
    ]
    assert engine.entries == 61


def test_a_path_without_header_and_with_venue_and_source_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLAXON_ACCOUNTS", '[{"venue": "okx", "account": "a"}, '
                       '{"venue": "bybit", "account": "b"}]')  # fmt: skip
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        'channels: {desk: "json://127.0.0.1:9/x"}\n'
        "rules:\n"
        "  - name: mark-up\n"
        '    price: {venue: bybit, market: "linear:BTCUSDT", source: mark, crosses_up: "100"}\n'
        "    notify: [desk]\n"
        '    message: "{venue} {market} {source} {price}"\n'
    )
    path = tmp_path / "path.csv"
    path.write_text(
        "1767603600000,linear:BTCUSDT,99,bybit,mark\n"
        "1767603601000,linear:BTCUSDT,101,bybit,last\n"  # another source: not this series
        "1767603602000,linear:BTCUSDT,101,okx,mark\n"  # another venue
        "1767603603000,linear:BTCUSDT,101,bybit,mark\n"
    )
    assert main(["replay", str(rules), "--from", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-01-05T09:00:03.000Z mark-up -> desk: bybit linear:BTCUSDT mark 101"
    ]


def test_a_bad_path_is_refused_with_every_file_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLAXON_ACCOUNTS", '[{"venue": "okx", "account": "a"}, '
                       '{"venue": "bybit", "account": "b"}]')  # fmt: skip
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.replace("market: BTC-USDT", "venue: okx, market: BTC-USDT"))
    path = tmp_path / "path.csv"
    path.write_text(
        "ts,market,price,venue\n"
        "2026-01-05T09:00:10Z,BTC-USDT,65000,okx\n"
        "yesterday,BTC-USDT,65000,okx\n"  # 3
        "2026-01-05T09:00:20Z,BTC USDT,1e999999999999,okx\n"  # 4: market, price
        "2026-01-05T09:00:00Z,BTC-USDT,65000,okx\n"  # 5: back in time
        "2026-01-05T09:00:30Z,BTC-USDT,65000,\n"  # 6: which venue?
        "2026-01-05T09:00:40Z,BTC-USDT,65000\n"  # 7: a value short
    )
    assert main(["replay", str(rules), "--from", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}:3: ts: 'yesterday' is not ISO 8601 or epoch milliseconds",
        f"{path}:4: market: 'BTC USDT' is not the market as the venue spells it, such as BTC-USDT",
        f"{path}:4: price: '1e999999999999' is not a decimal number such as 65000.5",
        f"{path}:5: ts: goes back in time; rows go in time order",
        f"{path}:6: venue: none given, and 2 venues are configured (okx, bybit): name one",
        f"{path}:7: expected 4 values (ts,market,price,venue)",
    ]


def test_a_bad_header_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "path.csv"
    path.write_text("ts,symbol,price\n2026-01-05T09:00:10Z,BTC-USDT,65000\n")
    rules = tmp_path / "rules.yaml"
    rules.write_text('channels: {desk: "json://127.0.0.1:9/x"}\nrules: []\n')
    assert main(["replay", str(rules), "--from", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}:1: header: unknown column 'symbol'; no 'market' column "
        "(columns: ts, market, price, venue, source)"
    ]


def test_bad_rules_are_refused_before_anything_is_replayed(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    rules, path = files
    rules.write_text(RULES.replace('crosses_up: "65000"', "crosses_up: lots"))
    assert main(["replay", str(rules), "--from", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"{rules}:5: price.crosses_up: 'lots' is not a decimal number")


def test_claims_answer_as_the_claim_script_does() -> None:
    claims = Claims()
    once = ClaimRequest("klaxon:claim:a", "a@1", 0)
    cool = ClaimRequest("klaxon:claim:b", "b@1", 1000)
    assert claims.claim([once, cool], 5_000) == [ClaimResult(NEW, -1), ClaimResult(NEW, 1000)]
    assert claims.claim([once], 9_000) == [ClaimResult(REDELIVERED, -1)]
    again = ClaimRequest("klaxon:claim:b", "b@2", 1000)
    assert claims.claim([again], 5_400) == [ClaimResult(TAKEN, 600)]
    assert claims.claim([again], 6_000) == [ClaimResult(TAKEN, 0)]  # Redis: expired after PX
    assert claims.claim([again], 6_001) == [ClaimResult(NEW, 1000)]
