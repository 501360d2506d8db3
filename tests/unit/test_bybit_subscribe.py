"""Bybit feeds: one public connection per category (split at the args limits), one private."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest

from tests.documented import Documented
from watcher.errors import ConfigError
from watcher.venues.bybit import (
    HEARTBEAT,
    MAX_ARGS_CHARS,
    PING,
    Bybit,
    BybitCredentials,
    default_public_url,
)
from watcher.venues.bybit.venue import connections

CREDS = BybitCredentials(api_key="key-5e1d", secret_key="secret-8c2a")


frame = Documented("bybit").frame


def args(frames: Sequence[str]) -> list[str]:
    """Every topic of some subscribe frames, in order."""
    out: list[str] = []
    for f in frames:
        decoded = orjson.loads(f)
        assert decoded["op"] == "subscribe"
        out += decoded["args"]
    return out


def test_subscriptions_are_the_documented_request_without_req_id() -> None:
    documented = orjson.loads(frame("bybit_ws_subscribe_request.json"))
    del documented["req_id"]  # optional: Bybit echoes it; klaxon needs no echo
    (feed,) = Bybit().feeds([("linear:BTCUSDT", "last"), ("linear:ETHUSDT", "mark")], False)
    (sent,) = feed.subscribe
    assert orjson.loads(sent) == documented | {"args": ["tickers.BTCUSDT", "tickers.ETHUSDT"]}


def test_one_public_feed_per_category_with_its_url() -> None:
    series = [
        ("spot:BTCUSDT", "last"),
        ("linear:BTCUSDT", "mark"),
        ("linear:BTCUSDT", "last"),
        ("option:BTC-6JAN23-17500-C", "index"),
        ("inverse:BTCUSD", "last"),
    ]
    feeds = Bybit().feeds(series, private=False)
    assert [(f.name, f.url()) for f in feeds] == [
        ("public-inverse", "wss://stream.bybit.com/v5/public/inverse"),
        ("public-linear", "wss://stream.bybit.com/v5/public/linear"),
        ("public-option", "wss://stream.bybit.com/v5/public/option"),
        ("public-spot", "wss://stream.bybit.com/v5/public/spot"),
    ]
    assert [args(f.subscribe) for f in feeds] == [
        ["tickers.BTCUSD"],
        ["tickers.BTCUSDT"],  # once, for both sources
        ["tickers.BTC-6JAN23-17500-C"],
        ["tickers.BTCUSDT"],
    ]
    for feed in feeds:
        assert (feed.venue, feed.heartbeat, feed.login) == ("bybit", HEARTBEAT, None)
    assert orjson.loads(PING) == {"op": "ping"}
    assert (HEARTBEAT.interval, HEARTBEAT.frame) == (20.0, PING)


def test_a_feed_emits_only_the_sources_its_rules_asked_for() -> None:
    (feed,) = Bybit().feeds([("linear:BTCUSDT", "mark"), ("linear:BTC-26DEC25", "index")], False)
    assert [r[:2] for r in feed.parse(frame("bybit_ws_tickers_linear_snapshot.json")).ticks] == [
        ("linear:BTCUSDT", "mark")
    ]
    futures = feed.parse(frame("bybit_ws_tickers_linear_futures_snapshot.json")).ticks
    assert [r[:2] for r in futures] == [("linear:BTC-26DEC25", "index")]


def test_spot_requests_hold_ten_args_at_most() -> None:
    series = [(f"spot:COIN{i}USDT", "last") for i in range(25)]
    (feed,) = Bybit().feeds(series, private=False)
    assert [len(orjson.loads(f)["args"]) for f in feed.subscribe] == [10, 10, 5]
    assert sorted(args(feed.subscribe)) == sorted(f"tickers.COIN{i}USDT" for i in range(25))


def test_public_connections_stay_under_21000_chars_of_args() -> None:
    series = [(f"linear:LONGNAMECOIN{i:05d}USDT", "last") for i in range(3000)]
    feeds = Bybit().feeds(series, private=False)
    assert len(feeds) > 1
    assert [f.name for f in feeds[:3]] == ["public-linear", "public-linear-2", "public-linear-3"]
    seen: list[str] = []
    for feed in feeds:
        topics = args(feed.subscribe)
        assert len(orjson.dumps(topics)) <= MAX_ARGS_CHARS
        seen += topics
    assert sorted(seen) == sorted(f"tickers.{m.partition(':')[2]}" for m, _ in series)


def test_option_connections_hold_2000_args_at_most() -> None:
    # Real topics ("tickers." and a symbol) reach 21,000 characters first; short ones show the cap.
    assert [len(g) for g in connections("option", [f"t{i}" for i in range(4100)])] == [
        2000,
        2000,
        100,
    ]
    assert [len(g) for g in connections("linear", [f"t{i}" for i in range(2500)])] == [2500]


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([("BTCUSDT", "last")], "<category>:<symbol>"),
        ([("futures:BTCUSDT", "last")], "<category>:<symbol>"),
        ([("linear:", "last")], "<category>:<symbol>"),
        ([("spot:BTCUSDT", "mark")], "spot tickers carry no mark"),
        ([("spot:BTCUSDT", "index")], "spot tickers carry no index"),
        ([("spot:BTCUSDT", "bid")], "spot tickers carry no bid"),
        ([("linear:BTCUSDT", "funding")], "unknown price source 'funding'"),
    ],
)
def test_bad_series_are_config_errors(series: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Bybit().feeds(series, private=False)


def test_private_feed_logs_in_then_subscribes() -> None:
    (feed,) = Bybit("main", CREDS).feeds([], private=True)
    assert (feed.name, feed.account, feed.heartbeat) == ("private", "main", HEARTBEAT)
    assert feed.private  # the watcher backfills it over REST after each connect
    assert feed.url() == "wss://stream.bybit.com/v5/private"
    assert feed.login is not None
    assert orjson.loads(feed.login())["op"] == "auth"
    (sent,) = feed.subscribe
    assert orjson.loads(sent) == {
        "op": "subscribe",
        "args": ["order", "execution", "position", "wallet"],
    }
    with pytest.raises(ConfigError, match="credentials"):
        Bybit().feeds([], private=True)


def test_urls_default_to_live_and_are_overridable() -> None:
    live = Bybit()
    assert (live.public_url, live.private_url, live.rest_url) == (
        "wss://stream.bybit.com/v5/public",
        "wss://stream.bybit.com/v5/private",
        "https://api.bybit.com",
    )
    testnet = Bybit(testnet=True)
    assert (testnet.public_url, testnet.private_url, testnet.rest_url) == (
        "wss://stream-testnet.bybit.com/v5/public",
        "wss://stream-testnet.bybit.com/v5/private",
        "https://api-testnet.bybit.com",
    )
    demo = Bybit(demo=True)  # demo trading: private and REST only; public data is live's
    assert (demo.public_url, demo.private_url, demo.rest_url) == (
        default_public_url(),
        "wss://stream-demo.bybit.com/v5/private",
        "https://api-demo.bybit.com",
    )
    sim = Bybit(
        public_url="ws://127.0.0.1:8765/v5/public/",
        private_url="ws://127.0.0.1:8765/v5/private",
        rest_url="http://127.0.0.1:8765",
    )
    (feed,) = sim.feeds([("spot:BTCUSDT", "last")], private=False)
    assert feed.url() == "ws://127.0.0.1:8765/v5/public/spot"
    assert (sim.private_url, sim.rest_url) == (
        "ws://127.0.0.1:8765/v5/private",
        "http://127.0.0.1:8765",
    )
