"""Bybit accounts from KLAXON_BYBIT_* (or an account's own prefix), as the registry builds them."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from watcher.errors import ConfigError
from watcher.venues import VENUES, VenueSettings, venue_class
from watcher.venues.bybit import Bybit, BybitSettings


def test_bybit_is_registered() -> None:
    assert venue_class("bybit") is VENUES["bybit"] is Bybit
    assert Bybit.settings_model is BybitSettings


def test_bybit_is_built_from_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLAXON_BYBIT_SUB_API_KEY", "key-4e7a")
    monkeypatch.setenv("KLAXON_BYBIT_SUB_SECRET_KEY", "secret-c19d")
    monkeypatch.setenv("KLAXON_BYBIT_SUB_WS_PUBLIC_URL", "ws://127.0.0.1:9/v5/public")
    monkeypatch.setenv("KLAXON_BYBIT_SUB_WS_PRIVATE_URL", "ws://127.0.0.1:9/v5/private")
    monkeypatch.setenv("KLAXON_BYBIT_SUB_REST_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KLAXON_BYBIT_SUB_TESTNET", "true")
    settings = BybitSettings(_env_prefix="KLAXON_BYBIT_SUB_")
    bybit = Bybit.from_settings("sub", settings)
    assert (bybit.account, bybit.testnet, bybit.demo, bybit.has_credentials) == (
        "sub",
        True,
        False,
        True,
    )
    assert sorted(settings.secrets()) == ["key-4e7a", "secret-c19d"]
    public, private = bybit.feeds([("spot:BTCUSDT", "last")], private=True)
    assert (public.url(), private.url()) == (
        "ws://127.0.0.1:9/v5/public/spot",
        "ws://127.0.0.1:9/v5/private",
    )
    assert (private.venue, private.account) == ("bybit", "sub")
    assert repr(bybit.trading()) == "BybitRest(base_url='http://127.0.0.1:9', account='sub')"


def test_demo_and_testnet_pick_bybit_hosts() -> None:
    demo = Bybit.from_settings("main", BybitSettings(demo=True))
    assert (demo.private_url, demo.rest_url) == (
        "wss://stream-demo.bybit.com/v5/private",
        "https://api-demo.bybit.com",
    )
    both = Bybit.from_settings("main", BybitSettings(demo=True, testnet=True))
    assert (both.public_url, both.private_url, both.rest_url) == (
        "wss://stream-testnet.bybit.com/v5/public",
        "wss://stream-demo-testnet.bybit.com/v5/private",
        "https://api-demo-testnet.bybit.com",
    )


def test_bybit_without_a_key_watches_market_data_only() -> None:
    settings = BybitSettings(api_key=None, secret_key=None)
    bybit = Bybit.from_settings("main", settings)
    assert not bybit.has_credentials
    assert settings.secrets() == []
    with pytest.raises(ConfigError, match="credentials"):
        bybit.trading()
    with pytest.raises(ConfigError, match="credentials"):
        bybit.feeds([], private=True)


def test_bybit_refuses_half_a_key() -> None:
    with pytest.raises(ValueError, match="set both API_KEY and SECRET_KEY"):
        BybitSettings(api_key=SecretStr("key-only"))


def test_bybit_refuses_another_venues_settings() -> None:
    class Other(VenueSettings):
        pass

    with pytest.raises(TypeError, match="expected BybitSettings"):
        Bybit.from_settings("main", Other())
