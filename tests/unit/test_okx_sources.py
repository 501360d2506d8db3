"""OKX price sources: each source a series of its own, subscribed and parsed as the rules ask.

last, bid and ask come on `tickers` (bid and ask rows only for the markets that watch them),
mark on `mark-price`, index on `index-tickers` by index, named back to the watching markets."""

from __future__ import annotations

import orjson

from tests.documented import Documented
from watcher.events import TickRow
from watcher.venues.okx import Okx, index_of

OKX = Documented("okx")
MS = 1597026383085  # the documented pushes' ts


def planned(*series: tuple[str, str]) -> Okx:
    """The venue after the watcher asked it for the feeds of these series."""
    okx = Okx("main")
    okx.feeds(series, private=False)
    return okx


def args(frames: list[str]) -> list[dict[str, str]]:
    return [arg for frame in frames for arg in orjson.loads(frame)["args"]]


def test_the_index_of_a_market_is_its_uly() -> None:
    assert [index_of(m) for m in ("BTC-USDT", "BTC-USDT-SWAP", "BTC-USD-250328")] == [
        "BTC-USDT",
        "BTC-USDT",
        "BTC-USD",
    ]
    assert index_of("ETH-USD-250328-3000-C") == "ETH-USD"


def test_index_subscription_is_the_documented_request_without_id() -> None:
    documented = OKX.doc("okx_ws_subscribe_request_index_tickers.json")
    del documented["id"]
    (frame,) = Okx().public_subscriptions([("BTC-USDT-SWAP", "index")])
    assert orjson.loads(frame) == documented


def test_liquidation_warnings_are_subscribed_as_documented() -> None:
    documented = OKX.doc("okx_ws_subscribe_request_liquidation_warning.json")
    (frame,) = Okx().private_subscriptions()
    assert documented["args"][0] in orjson.loads(frame)["args"]


def test_each_channel_and_instrument_is_subscribed_once() -> None:
    series = [
        ("BTC-USDT", "bid"),
        ("BTC-USDT", "ask"),
        ("BTC-USDT", "last"),
        ("BTC-USDT-SWAP", "index"),
        ("BTC-USDT", "index"),
        ("BTC-USDT-SWAP", "mark"),
    ]
    assert args(Okx().public_subscriptions(series)) == [
        {"channel": "tickers", "instId": "BTC-USDT"},
        {"channel": "index-tickers", "instId": "BTC-USDT"},
        {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
    ]


def test_bid_and_ask_rows_come_only_for_the_markets_watching_them() -> None:
    push = OKX.frame("okx_ws_tickers_push.json")  # BTC-USDT: last 9999.99, bid 8888.88
    last: TickRow = ("BTC-USDT", "last", "9999.99", "8888.88", "9999.99", MS)
    bid: TickRow = ("BTC-USDT", "bid", "8888.88", "8888.88", "9999.99", MS)
    ask: TickRow = ("BTC-USDT", "ask", "9999.99", "8888.88", "9999.99", MS)
    assert Okx().parse(push).ticks == [last]
    assert planned(("BTC-USDT", "last")).parse(push).ticks == [last]
    assert planned(("BTC-USDT", "bid")).parse(push).ticks == [bid]
    assert planned(("BTC-USDT", "ask"), ("BTC-USDT", "last")).parse(push).ticks == [last, ask]
    assert planned(("ETH-USDT", "bid"), ("BTC-USDT", "last")).parse(push).ticks == [last]


def test_an_empty_side_of_the_book_makes_no_row() -> None:
    push = OKX.doc("okx_ws_tickers_push.json")
    push["data"][0]["bidPx"] = ""
    okx = planned(("BTC-USDT", "bid"), ("BTC-USDT", "ask"))
    assert okx.parse(orjson.dumps(push)).ticks == [
        ("BTC-USDT", "ask", "9999.99", "", "9999.99", MS)
    ]


def test_an_index_row_is_named_by_each_market_watching_the_index() -> None:
    push = OKX.frame("okx_ws_index_tickers_push.json")  # BTC-USDT idxPx 0.1
    okx = planned(("BTC-USDT-SWAP", "index"), ("BTC-USDT", "index"), ("ETH-USDT", "index"))
    assert okx.parse(push).ticks == [
        ("BTC-USDT", "index", "0.1", "", "", MS),
        ("BTC-USDT-SWAP", "index", "0.1", "", "", MS),
    ]
    assert planned(("BTC-USDT-SWAP", "index")).parse(push).ticks == [
        ("BTC-USDT-SWAP", "index", "0.1", "", "", MS)
    ]
