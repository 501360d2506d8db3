"""The lean ticker path: deltas merge onto each symbol's snapshot; prices are checked, kept as sent.

Bybit documents no ticker delta frame (only that a delta carries the fields that changed), so
every delta here is a documented linear snapshot cut down to some of its fields, marked delta.
"""

from __future__ import annotations

import time
from decimal import Decimal

import orjson
import pytest

from tests.documented import Documented
from watcher.errors import UnknownMessage
from watcher.events import TickRow
from watcher.venues.bybit import TickerBook

BYBIT = Documented("bybit")
NOW = "bybit_ws_tickers_linear_snapshot.json"  # BTCUSDT at 66666.60, ts 1760325052630
THEN = "bybit_ws_tickers_linear_snapshot_2023.json"  # BTCUSDT at 17216.00, ts 1673272861686
TS_NOW, TS_THEN = 1760325052630, 1673272861686
M = "linear:BTCUSDT"


doc, snapshot = BYBIT.doc, BYBIT.frame


def delta(name: str, *fields: str) -> bytes:
    """A documented snapshot keeping only `fields` (and the symbol), sent as a delta."""
    push = doc(name)
    push["type"] = "delta"
    push["data"] = {k: v for k, v in push["data"].items() if k == "symbol" or k in fields}
    return orjson.dumps(push)


Step = tuple[bytes, list[TickRow]]
LAST_NOW = (M, "last", "66666.60", "66666.60", "66666.70", TS_NOW)
MARK_NOW = (M, "mark", "66666.60", "", "", TS_NOW)
INDEX_NOW = (M, "index", "115418.19", "", "", TS_NOW)

MERGE_CASES: list[tuple[str, list[Step], tuple[str, str, str, str, str]]] = [
    (
        "a snapshot sets every price",
        [(snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW])],
        ("66666.60", "66666.60", "66666.70", "66666.60", "115418.19"),
    ),
    (
        "a delta moves only the prices it carries; last keeps the snapshot's ask",
        [
            (snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW]),
            (
                delta(THEN, "lastPrice", "bid1Price"),
                [(M, "last", "17216.00", "17215.50", "66666.70", TS_THEN)],
            ),
        ],
        ("17216.00", "17215.50", "66666.70", "66666.60", "115418.19"),
    ),
    (
        "a bid alone re-sends last with the new bid",
        [
            (snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW]),
            (delta(THEN, "bid1Price"), [(M, "last", "66666.60", "17215.50", "66666.70", TS_THEN)]),
        ],
        ("66666.60", "17215.50", "66666.70", "66666.60", "115418.19"),
    ),
    (
        "a mark delta is a mark row and nothing else",
        [
            (snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW]),
            (delta(THEN, "markPrice"), [(M, "mark", "17217.33", "", "", TS_THEN)]),
            (delta(THEN, "indexPrice"), [(M, "index", "17227.36", "", "", TS_THEN)]),
        ],
        ("66666.60", "66666.60", "66666.70", "17217.33", "17227.36"),
    ),
    (
        "a delta without prices moves nothing",
        [
            (snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW]),
            (delta(THEN, "openInterest", "fundingRate", "volume24h"), []),
        ],
        ("66666.60", "66666.60", "66666.70", "66666.60", "115418.19"),
    ),
    (
        "a delta before any snapshot starts from nothing",
        [
            (delta(THEN, "bid1Price", "markPrice"), [(M, "mark", "17217.33", "", "", TS_THEN)]),
            (delta(THEN, "lastPrice"), [(M, "last", "17216.00", "17215.50", "", TS_THEN)]),
        ],
        ("17216.00", "17215.50", "", "17217.33", ""),
    ),
    (
        "a new snapshot replaces the merged state",
        [
            (snapshot(NOW), [LAST_NOW, MARK_NOW, INDEX_NOW]),
            (
                delta(THEN, "lastPrice"),
                [(M, "last", "17216.00", "66666.60", "66666.70", TS_THEN)],
            ),
            (
                snapshot(THEN),
                [
                    (M, "last", "17216.00", "17215.50", "17216.00", TS_THEN),
                    (M, "mark", "17217.33", "", "", TS_THEN),
                    (M, "index", "17227.36", "", "", TS_THEN),
                ],
            ),
        ],
        ("17216.00", "17215.50", "17216.00", "17217.33", "17227.36"),
    ),
]


@pytest.mark.parametrize(("case", "steps", "merged"), MERGE_CASES, ids=[c[0] for c in MERGE_CASES])
def test_deltas_merge_onto_the_snapshot(
    case: str, steps: list[Step], merged: tuple[str, str, str, str, str]
) -> None:
    book = TickerBook("linear", "public-linear")
    for raw, rows in steps:
        assert book.parse(raw) == (rows, [])
    assert book.prices("BTCUSDT") == merged


def test_books_are_per_symbol() -> None:
    book = TickerBook("linear", "public-linear")
    book.parse(snapshot(NOW))
    book.parse(snapshot("bybit_ws_tickers_linear_futures_snapshot.json"))
    book.parse(delta(THEN, "lastPrice"))
    assert book.prices("BTC-26DEC25") == (
        "109401.50",
        "111254.50",
        "131001.00",
        "121144.63",
        "114132.51",
    )
    assert book.prices("ETHUSDT") is None


def test_only_the_sources_asked_for_are_emitted() -> None:
    book = TickerBook("linear", "public-linear", {"BTCUSDT": ["mark"]})
    assert book.parse(snapshot(NOW)).ticks == [MARK_NOW]
    assert book.parse(delta(THEN, "lastPrice", "indexPrice")).ticks == []
    assert book.prices("BTCUSDT") == ("17216.00", "66666.60", "66666.70", "66666.60", "17227.36")
    other = TickerBook("linear", "public-linear", {"ETHUSDT": ["last"]})
    assert other.parse(snapshot(NOW)).ticks == []


def test_bid_and_ask_rows_come_for_the_symbols_watching_them_when_that_side_moved() -> None:
    book = TickerBook("linear", "public-linear", {"BTCUSDT": ["bid", "ask"]})
    assert book.parse(snapshot(NOW)).ticks == [
        (M, "bid", "66666.60", "66666.60", "66666.70", TS_NOW),
        (M, "ask", "66666.70", "66666.60", "66666.70", TS_NOW),
    ]
    assert book.parse(delta(THEN, "bid1Price")).ticks == [
        (M, "bid", "17215.50", "17215.50", "66666.70", TS_THEN)
    ]
    assert book.parse(delta(THEN, "lastPrice")).ticks == []
    assert TickerBook("linear", "public-linear").parse(snapshot(NOW)).ticks == [
        LAST_NOW,
        MARK_NOW,
        INDEX_NOW,
    ]


def test_a_bad_frame_merges_nothing() -> None:
    book = TickerBook("linear", "public-linear")
    book.parse(snapshot(NOW))
    broken = doc(THEN)
    broken["type"] = "delta"
    broken["data"] = {"symbol": "BTCUSDT", "lastPrice": "17216.00", "bid1Price": "cheap"}
    with pytest.raises(UnknownMessage, match=r"tickers\.BTCUSDT"):
        book.parse(orjson.dumps(broken))
    assert book.prices("BTCUSDT") == ("66666.60", "66666.60", "66666.70", "66666.60", "115418.19")


def _with(field: str, value: object, *, top: bool = False, name: str = NOW) -> bytes:
    push = doc(name)
    if top:
        push[field] = value
    else:
        push["data"][field] = value
    return orjson.dumps(push)


# Prices kept as sent: the plain form Bybit uses passes without a Decimal; other forms a worker
# reads as finite positive Decimals (an exponent, a trailing dot) pass through Decimal.
KEPT = ["66666.60", "65000", "0.00001234", "12."]


@pytest.mark.parametrize("price", KEPT)
def test_prices_are_kept_exactly_as_sent(price: str) -> None:
    (last, _, _) = TickerBook("linear", "p").parse(_with("lastPrice", price)).ticks
    assert last[2] == price
    assert Decimal(last[2]).is_finite()
    assert Decimal(last[2]) > 0
    (_, mark, _) = TickerBook("linear", "p").parse(_with("markPrice", price)).ticks
    assert mark[2] == price


@pytest.mark.parametrize("price", ["", "0", "0.00"])
def test_empty_or_zero_is_no_price(price: str) -> None:
    rows = TickerBook("linear", "p").parse(_with("lastPrice", price)).ticks
    assert [r[1] for r in rows] == ["mark", "index"]
    (last, _, _) = TickerBook("linear", "p").parse(_with("bid1Price", price)).ticks
    assert last[3] == ""


BAD_CASES: list[tuple[str, bytes]] = [
    ("negative price", _with("lastPrice", "-1.5")),
    ("price not a number", _with("bid1Price", "abc")),
    ("price NaN", _with("markPrice", "NaN")),
    ("price Infinity", _with("ask1Price", "Infinity")),
    ("price two dots", _with("indexPrice", "1.2.3")),
    # Not the plain decimals Bybit sends (watcher.sanity's rule for every venue):
    ("price with an exponent", _with("lastPrice", "1E-8")),
    ("price huge", _with("lastPrice", "1e999999999")),
    ("price in Arabic-Indic digits", _with("bid1Price", "\u0661\u0662\u0663.\u0664")),
    ("price with an underscore", _with("ask1Price", "1_000.5")),
    ("ts two days ahead", _with("ts", int(time.time() * 1000) + 2 * 86_400_000, top=True)),
    ("symbol past 64 characters", _with("symbol", "X" * 64)),
    ("price as JSON number", _with("lastPrice", 66666.6)),
    ("price null", _with("lastPrice", None)),
    ("price as JSON list", _with("lastPrice", ["1"])),
    ("no symbol", _with("symbol", "")),
    ("symbol not a string", _with("symbol", 7)),
    ("ts a string", _with("ts", "1760325052630", top=True)),
    ("ts negative", _with("ts", -1, top=True)),
    ("ts in microseconds", _with("ts", 1760325052630000, top=True)),
    ("ts a float", _with("ts", 1760325052630.5, top=True)),
    ("neither snapshot nor delta", _with("type", "update", top=True)),
    ("data a list", _with("data", [], top=True)),
    ("no data", orjson.dumps({k: v for k, v in doc(NOW).items() if k != "data"})),
    ("no ts", orjson.dumps({k: v for k, v in doc(NOW).items() if k != "ts"})),
]


@pytest.mark.parametrize(("case", "raw"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_malformed_tickers_are_unknown(case: str, raw: bytes) -> None:
    with pytest.raises(UnknownMessage) as caught:
        TickerBook("linear", "public-linear").parse(raw)
    assert caught.value.venue == "bybit"
    assert "tickers.BTCUSDT" in caught.value.reason
    assert caught.value.sample


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"topic": "tickers.BTCUSDT"', "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"topic":"orderbook.1.BTCUSDT","type":"snapshot","ts":1,"data":{}}', "orderbook"),
        (b'{"hello":"world"}', "reply"),
    ],
)
def test_other_public_frames_are_unknown(raw: bytes, reason: str) -> None:
    with pytest.raises(UnknownMessage) as caught:
        TickerBook("spot", "public-spot").parse(raw)
    assert reason in caught.value.reason
