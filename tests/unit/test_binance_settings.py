"""Binance venues built from their settings (KLAXON_BINANCE_*, KLAXON_BINANCEUSDM_*) on the
venue contract: keys, endpoints, feeds with a listen key asked for at connect."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests.local_http import LocalHttp, Reply
from watcher.errors import ConfigError
from watcher.venues import VENUES, venue_class
from watcher.venues.binance import MAX_CONNECTION_AGE, Binance, BinanceSettings
from watcher.venues.binanceusdm import USDM_HEARTBEAT, BinanceUsdm, BinanceUsdmSettings


def test_both_products_are_registered_venues() -> None:
    assert (venue_class("binance"), venue_class("binanceusdm")) == (Binance, BinanceUsdm)
    assert VENUES["binanceusdm"].settings_model is BinanceUsdmSettings


def test_spot_is_built_from_its_settings(monkeypatch: pytest.MonkeyPatch, local: LocalHttp) -> None:
    monkeypatch.setenv("KLAXON_BINANCE_ALT_API_KEY", "key-7a7a")
    monkeypatch.setenv("KLAXON_BINANCE_ALT_SECRET_KEY", "secret-8b8b")
    monkeypatch.setenv("KLAXON_BINANCE_ALT_STREAM_URL", "ws://127.0.0.1:9")
    monkeypatch.setenv("KLAXON_BINANCE_ALT_REST_URL", local.url)
    monkeypatch.setenv("KLAXON_BINANCE_ALT_STREAMS_PER_CONNECTION", "2")
    settings = BinanceSettings(_env_prefix="KLAXON_BINANCE_ALT_")
    venue = Binance.from_settings("alt", settings)
    assert (venue.account, venue.has_credentials, venue.streams_per_connection) == ("alt", True, 2)
    assert sorted(settings.secrets()) == ["key-7a7a", "secret-8b8b"]
    local.replies.append(Reply(body=b'{"listenKey": "fresh-key"}'))
    try:
        (public, private) = venue.feeds([("BTCUSDT", "last")], private=True)
        assert private.url() == "ws://127.0.0.1:9/ws/fresh-key"  # asked for at connect
    finally:
        venue.close()
    assert public.url() == "ws://127.0.0.1:9/stream?streams=btcusdt@ticker"
    assert (private.venue, private.account, private.name) == ("binance", "alt", "private")
    assert public.max_age == private.max_age == MAX_CONNECTION_AGE < 24 * 3600
    assert local.seen[0].headers["x-mbx-apikey"] == "key-7a7a"


def test_usdm_reads_its_own_variables_and_an_ed25519_key(monkeypatch: pytest.MonkeyPatch) -> None:
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    monkeypatch.setenv("KLAXON_BINANCEUSDM_API_KEY", "key-9c9c")
    monkeypatch.setenv("KLAXON_BINANCEUSDM_PRIVATE_KEY", pem)
    monkeypatch.setenv("KLAXON_BINANCE_API_KEY", "spot-key")  # not USD-M's
    venue = BinanceUsdm.from_settings("main", BinanceUsdmSettings())
    assert venue.credentials is not None
    assert venue.credentials.api_key.get_secret_value() == "key-9c9c"
    assert repr(venue.trading()._signer) == "Signer(ed25519)"
    (feed,) = venue.feeds([("BTCUSDT", "mark")], private=False)
    assert feed.url() == "wss://fstream.binance.com/stream?streams=btcusdt@markPrice@1s"
    assert feed.heartbeat == USDM_HEARTBEAT
    assert venue.permissions_url == "https://api.binance.com"  # apiRestrictions: the spot host


def test_no_key_watches_market_data_only() -> None:
    venue = Binance.from_settings("main", BinanceSettings())
    assert not venue.has_credentials
    with pytest.raises(ConfigError, match="credentials"):
        venue.trading()


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"secret_key": "s"}, "set API_KEY with its SECRET_KEY or PRIVATE_KEY"),
        ({"api_key": "k"}, "set API_KEY with one of SECRET_KEY"),
        ({"api_key": "k", "secret_key": "s", "private_key": "p"}, "one of SECRET_KEY"),
        ({"streams_per_connection": 1025}, "less than or equal to 1024"),
        ({"recv_window": 60_001}, "less than or equal to 60000"),
    ],
)
def test_settings_refuse_what_cannot_work(given: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BinanceSettings.model_validate(given)


def test_a_venue_refuses_the_other_products_settings() -> None:
    with pytest.raises(TypeError, match="binance: expected BinanceSettings"):
        Binance.from_settings("main", BinanceUsdmSettings())
    with pytest.raises(TypeError, match="binanceusdm: expected BinanceUsdmSettings"):
        BinanceUsdm.from_settings("main", BinanceSettings())
