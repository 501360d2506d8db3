"""`klaxon work`'s trading desk, built from its settings as the command builds it: a REST client
for each account with a key (never for one without), the risk limits, inline or queued."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from klaxon.settings import WorkerSettings, load
from klaxon.wiring import accounts, desk
from watcher.errors import ConfigError

KEYS = {
    "KLAXON_OKX_API_KEY": "desk-key",
    "KLAXON_OKX_SECRET_KEY": "desk-secret-31f9",
    "KLAXON_OKX_PASSPHRASE": "desk-pass",
}


def test_the_desk_trades_for_accounts_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    env = KEYS | {
        "KLAXON_ACCOUNTS": json.dumps(
            [
                {"venue": "okx", "account": "main"},
                {"venue": "okx", "account": "hedge", "env_prefix": "KLAXON_OKX_HEDGE_"},
            ]
        ),
        "KLAXON_ORDERS_INLINE": "false",
        "KLAXON_ORDER_TIMEOUT": "2.5",
        "KLAXON_PARTITIONS": "8",
        "KLAXON_RISK_MARKETS": '["okx:BTC-USDT", "ETH-USDT"]',
        "KLAXON_RISK_MAX_SIZE": '{"BTC-USDT": "0.5"}',
        "KLAXON_RISK_MAX_NOTIONAL": "25000",
        "KLAXON_RISK_ORDERS_PER_MINUTE": "6",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load(WorkerSettings)
    built = desk(settings, accounts(settings.accounts))
    assert set(built.traders) == {("okx", "main")}  # hedge has no key: it cannot trade
    assert (built.partitions, built.inline, built.lease_ms) == (8, False, 7000)
    assert built.risk.markets == frozenset({"okx:BTC-USDT", "ETH-USDT"})
    assert built.risk.max_size == {"BTC-USDT": Decimal("0.5")}
    assert (built.risk.max_notional, built.risk.per_minute) == (Decimal(25000), 6)
    assert "desk-secret-31f9" not in repr(built)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KLAXON_RISK_ORDERS_PER_MINUTE", "0"),
        ("KLAXON_RISK_MAX_NOTIONAL", "-1"),
        ("KLAXON_ORDER_TIMEOUT", "0"),
        ("KLAXON_RISK_MAX_SIZE", '{"BTC-USDT": "lots"}'),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load(WorkerSettings)
    assert any(line.startswith(name) for line in caught.value.errors), caught.value.errors
