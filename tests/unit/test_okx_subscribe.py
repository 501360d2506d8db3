"""OKX subscribe frames: the documented shape, batched under the 64 KB request limit."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from watcher.errors import ConfigError
from watcher.events import FeedStatus
from watcher.venues import Heartbeat
from watcher.venues.okx import (
    DEMO_PUBLIC_URL,
    LIVE_PRIVATE_URL,
    LIVE_PUBLIC_URL,
    Okx,
    OkxCredentials,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"


def test_ticker_subscription_is_the_documented_request_without_id() -> None:
    documented = orjson.loads((DATA / "okx_ws_subscribe_request_tickers.json").read_bytes())
    del documented["id"]
    (frame,) = Okx().public_subscriptions([("BTC-USDT", "last")])
    assert orjson.loads(frame) == documented


def test_sources_map_to_channels_once_each() -> None:
    series = [("BTC-USDT", "last"), ("BTC-USDT-SWAP", "mark"), ("BTC-USDT", "last")]
    (frame,) = Okx().public_subscriptions(series)
    assert orjson.loads(frame)["args"] == [
        {"channel": "tickers", "instId": "BTC-USDT"},
        {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
    ]


def test_unknown_source_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="'vwap' for BTC-USDT"):
        Okx().public_subscriptions([("BTC-USDT", "vwap")])


def test_many_series_are_split_well_under_64_kb() -> None:
    series = {(f"COIN{i}-USDT-SWAP", source) for i in range(3000) for source in ("last", "mark")}
    frames = Okx().public_subscriptions(series)
    assert len(frames) > 1
    seen: list[tuple[str, str]] = []
    for frame in frames:
        assert len(frame.encode()) < 40_000
        decoded = orjson.loads(frame)
        assert decoded["op"] == "subscribe"
        seen += [(a["instId"], a["channel"]) for a in decoded["args"]]
    channel = {"last": "tickers", "mark": "mark-price"}
    assert sorted(seen) == sorted((m, channel[s]) for m, s in series)


def test_private_subscriptions() -> None:
    (frame,) = Okx().private_subscriptions()
    assert orjson.loads(frame) == {
        "op": "subscribe",
        "args": [
            {"channel": "orders", "instType": "ANY"},
            {"channel": "positions", "instType": "ANY"},
            {"channel": "account"},
            {"channel": "liquidation-warning", "instType": "ANY"},
        ],
    }


def test_urls_default_to_live_and_are_overridable() -> None:
    live = Okx()
    assert (live.public_url, live.private_url) == (LIVE_PUBLIC_URL, LIVE_PRIVATE_URL)
    assert live.rest_url == "https://www.okx.com"
    assert live.headers == {}
    assert Okx(demo=True).public_url == DEMO_PUBLIC_URL
    sim = Okx(
        demo=True,
        public_url="ws://127.0.0.1:8765/ws/v5/public",
        private_url="ws://127.0.0.1:8765/ws/v5/private",
        rest_url="http://127.0.0.1:8765",
    )
    assert sim.public_url == "ws://127.0.0.1:8765/ws/v5/public"
    assert sim.private_url == "ws://127.0.0.1:8765/ws/v5/private"
    assert sim.rest_url == "http://127.0.0.1:8765"
    assert sim.headers == {"x-simulated-trading": "1"}


def test_feeds_describe_public_and_private_connections() -> None:
    creds = OkxCredentials(api_key="k", secret_key="s", passphrase="p")
    okx = Okx("main", creds, demo=True, public_url="ws://127.0.0.1:1/p", private_url="ws://x/q")
    public, private = okx.feeds([("BTC-USDT", "last")], private=True)
    assert (public.name, public.url(), public.login) == ("public", "ws://127.0.0.1:1/p", None)
    assert list(public.subscribe) == okx.public_subscriptions([("BTC-USDT", "last")])
    assert (private.name, private.url(), private.account) == ("private", "ws://x/q", "main")
    # OKX drops a connection silent for 30 s: "ping" after 20 s, a reply within 10 s.
    assert public.heartbeat == private.heartbeat == Heartbeat(20.0, 10.0, "ping")
    assert (public.max_age, public.on_connected) == (None, None)
    assert private.login is not None
    assert orjson.loads(private.login())["op"] == "login"
    assert dict(private.headers) == {"x-simulated-trading": "1"}
    (status,) = private.parse(b'{"event":"login","code":"0","msg":"","connId":"1"}').events
    assert isinstance(status, FeedStatus)
    assert (status.feed, status.status) == ("private", "logged_in")
    assert Okx().feeds([], private=False) == []
    with pytest.raises(ConfigError):
        Okx().feeds([], private=True)
