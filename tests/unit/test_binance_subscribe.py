"""Binance market data: combined-stream URLs, a connection per N streams, sources per product."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from watcher.errors import ConfigError
from watcher.events import FeedStatus
from watcher.venues.binance import MAX_STREAMS_PER_CONNECTION, STREAMS_PER_CONNECTION, Binance
from watcher.venues.binanceusdm import BinanceUsdm


def test_sources_map_to_documented_streams() -> None:
    series = [("BTCUSDT", "last"), ("BTCUSDT", "bid"), ("BTCUSDT", "ask"), ("ETHUSDT", "mark")]
    assert BinanceUsdm().public_streams(series) == [
        "btcusdt@bookTicker",  # bid and ask share it
        "btcusdt@ticker",
        "ethusdt@markPrice@1s",
    ]


def test_spot_has_no_mark_price() -> None:
    with pytest.raises(ConfigError, match=r"binance: no price source 'mark' \(ask, bid, last\)"):
        Binance().public_streams([("BTCUSDT", "mark")])


@pytest.mark.parametrize("market", ["BTC-USDT", "btc/usdt", "", "BTC USDT", "БТЦ"])
def test_a_symbol_binance_does_not_spell_so_is_refused(market: str) -> None:
    with pytest.raises(ConfigError, match="not a Binance symbol"):
        Binance().public_streams([(market, "last")])


def test_one_connection_per_streams_per_connection() -> None:
    series = [(f"COIN{i:04d}USDT", "last") for i in range(450)]
    urls = Binance(stream_url="ws://127.0.0.1:9/").public_urls(series)
    assert len(urls) == 3  # 200 + 200 + 50
    named = [urlsplit(u).query.removeprefix("streams=").split("/") for u in urls]
    assert [len(n) for n in named] == [STREAMS_PER_CONNECTION, STREAMS_PER_CONNECTION, 50]
    assert sorted(s for n in named for s in n) == [f"coin{i:04d}usdt@ticker" for i in range(450)]
    assert all(u.startswith("ws://127.0.0.1:9/stream?streams=") for u in urls)


def test_the_cap_is_binances_limit_at_most() -> None:
    assert Binance(streams_per_connection=MAX_STREAMS_PER_CONNECTION).streams_per_connection
    for bad in (0, MAX_STREAMS_PER_CONNECTION + 1):
        with pytest.raises(ConfigError, match=r"streams per connection must be 1\.\.1024"):
            Binance(streams_per_connection=bad)


def test_public_feeds_are_named_and_subscribe_by_url() -> None:
    series = [(f"COIN{i}USDT", "last") for i in range(5)]
    feeds = BinanceUsdm("main", streams_per_connection=2).feeds(series, private=False)
    assert [f.name for f in feeds] == ["public", "public-2", "public-3"]
    shutdown = b'{"e": "serverShutdown", "E": 1770123456789}'  # the documented frame
    statuses = [f.parse(shutdown).events[0] for f in feeds]
    assert [s.feed for s in statuses if isinstance(s, FeedStatus)] == [f.name for f in feeds]
    assert all(f.venue == "binanceusdm" and not f.subscribe for f in feeds)
    assert all(f.url().startswith("wss://fstream.binance.com/stream?streams=") for f in feeds)


def test_no_series_no_public_feed_and_no_credentials_no_private_feed() -> None:
    assert Binance().feeds([], private=False) == []
    with pytest.raises(ConfigError, match="the private feed needs credentials"):
        Binance().feeds([], private=True)
