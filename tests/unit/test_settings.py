"""Settings: KLAXON_ACCOUNTS and each account's venue settings, and errors that name the variable
(and never quote a value)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from klaxon.cli import main
from klaxon.settings import AccountRef, WatcherSettings, load
from klaxon.wiring import accounts, build_watchers
from rules.load import load_rules
from watcher.errors import ConfigError
from watcher.venues import VENUES
from watcher.venues.okx import Okx

KEY, SECRET, PASSPHRASE = "key-0c7d1e", "secret-9a4f2b", "phrase-6e3c8d"
TWO = [
    {"venue": "okx", "account": "main"},
    {"venue": "okx", "account": "hedge", "env_prefix": "KLAXON_OKX_HEDGE_"},
]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No KLAXON_* variable of the environment running the tests leaks into them."""
    for name in list(os.environ):
        if name.startswith("KLAXON_"):
            monkeypatch.delenv(name)


def _errors(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        accounts(load(WatcherSettings).accounts)
    return caught.value.errors


def test_one_okx_account_named_main_by_default() -> None:
    settings = load(WatcherSettings)
    assert settings.accounts == [AccountRef(venue="okx", account="main")]
    assert settings.venues() == ("okx",)
    (account,) = accounts(settings.accounts)
    assert isinstance(account.venue, Okx)
    assert (account.venue.account, account.venue.has_credentials) == ("main", False)


def test_two_accounts_read_their_own_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_ACCOUNTS", json.dumps(TWO))
    monkeypatch.setenv("KLAXON_OKX_HEDGE_API_KEY", KEY)
    monkeypatch.setenv("KLAXON_OKX_HEDGE_SECRET_KEY", SECRET)
    monkeypatch.setenv("KLAXON_OKX_HEDGE_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("KLAXON_OKX_HEDGE_REST_URL", "http://127.0.0.1:9")
    settings = load(WatcherSettings)
    assert settings.venues() == ("okx",)
    main_account, hedge = accounts(settings.accounts)
    assert (main_account.ref.label, hedge.ref.label) == ("okx/main", "okx/hedge")
    assert not main_account.venue.has_credentials
    assert hedge.venue.has_credentials
    assert isinstance(hedge.venue, Okx)
    assert hedge.venue.rest_url == "http://127.0.0.1:9"
    assert sorted(hedge.settings.secrets()) == sorted([KEY, SECRET, PASSPHRASE])


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ('[{"venue": "okx"', "KLAXON_ACCOUNTS: not valid JSON"),
        ('{"venue": "okx"}', "KLAXON_ACCOUNTS: Input should be a valid list"),
        ("[]", "KLAXON_ACCOUNTS: List should have at least 1 item after validation, not 0"),
        ('[{"venue": "okx"}]', "KLAXON_ACCOUNTS[0].account: Field required"),
        (
            '[{"venue": "okx", "account": "main"}, {"venue": "binanse", "account": "b"}]',
            f"KLAXON_ACCOUNTS[1]: unknown venue 'binanse'; known: {', '.join(sorted(VENUES))}",
        ),
        (
            '[{"venue": "okx", "account": "a"}, {"venue": "okx", "account": "a"}]',
            "KLAXON_ACCOUNTS: listed twice: okx/a",
        ),
        (
            '[{"venue": "okx", "account": "a", "prefix": "KLAXON_A_"}]',
            "KLAXON_ACCOUNTS[0].prefix: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_accounts_name_the_variable_and_the_entry(
    monkeypatch: pytest.MonkeyPatch, value: str, error: str
) -> None:
    assert _errors(monkeypatch, KLAXON_ACCOUNTS=value) == [error]


def test_each_accounts_problem_is_named_without_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    errors = _errors(
        monkeypatch,
        KLAXON_ACCOUNTS=json.dumps(TWO),
        KLAXON_OKX_DEMO="maybe",
        KLAXON_OKX_HEDGE_API_KEY=KEY,
        KLAXON_OKX_HEDGE_SECRET_KEY=SECRET,
    )
    assert errors == [
        "account okx/main: KLAXON_OKX_DEMO: Input should be a valid boolean, "
        "unable to interpret input",
        "account okx/hedge: KLAXON_OKX_HEDGE_*: set all of API_KEY, SECRET_KEY and PASSPHRASE "
        "(or none, for market data only)",
    ]
    assert not any(KEY in e or SECRET in e for e in errors)


def test_a_bad_process_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_PARTITIONS", "0")
    with pytest.raises(ConfigError) as caught:
        load(WatcherSettings)
    assert caught.value.errors == ["KLAXON_PARTITIONS: Input should be greater than or equal to 1"]


def test_the_cli_prints_the_settings_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("rules: []\n")
    monkeypatch.setenv("KLAXON_ACCOUNTS", '[{"venue": "okx", "account": "main"},]')
    assert main(["check", str(rules)]) == 1
    assert capsys.readouterr().err.splitlines() == ["KLAXON_ACCOUNTS: not valid JSON"]


def test_a_later_account_without_a_key_would_watch_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("KLAXON_ACCOUNTS", json.dumps(TWO))
    rules = tmp_path / "r.yaml"
    rules.write_text(
        'channels: {desk: "json://127.0.0.1:9/x"}\n'
        "rules:\n"
        '  - {name: a, notify: desk, price: {venue: bybit, market: linear:BTCUSDT, above: "1"}}\n'
    )
    settings = load(WatcherSettings)
    ruleset = load_rules([rules], env={}, venues=settings.venues())
    with pytest.raises(ConfigError) as caught:
        build_watchers(settings, accounts(settings.accounts), ruleset.markets())
    assert caught.value.errors == [
        "account okx/hedge: no API key, and its venue's market data comes with the first "
        "account: it would watch nothing"
    ]
    assert "rules name venues no account is on (they never fire): ['bybit']" in caplog.text


def test_check_notes_a_venue_no_account_is_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        'channels: {desk: "json://127.0.0.1:9/x"}\n'
        "rules:\n"
        '  - {name: a, notify: desk, price: {market: BTC-USDT, above: "1"}}\n'
        "  - {name: b, notify: desk, fill: {venue: bybit}}\n"
    )
    assert main(["check", str(rules)]) == 0
    out = capsys.readouterr().out
    assert "note: rules name venue 'bybit', which no account is on (KLAXON_ACCOUNTS)" in out
    assert "'okx'" not in out
