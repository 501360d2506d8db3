"""Every documented OKX frame parses to the right events (or to nothing), through Okx.parse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from watcher.errors import UnknownMessage
from watcher.events import (
    FeedStatus,
    TickRow,
    ticker_from_row,
)
from watcher.venues.okx import Okx, OkxCredentials
from watcher.venues.okx.wire import OkxIndexTicker, OkxMarkPrice, OkxTicker

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
ACCOUNT = "main"


def frame(name: str) -> bytes:
    """Return a fixture's bytes exactly as stored."""
    return (DATA / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    """Return a fixture decoded (to derive a broken variant of a documented frame)."""
    decoded: dict[str, Any] = orjson.loads(frame(name))
    return decoded


def at(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int) -> datetime:
    """An aware UTC time, written out independently of the code under test."""
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)


@pytest.fixture
def okx() -> Okx:
    """The venue with an account label, as the watcher builds it."""
    return Okx(ACCOUNT)


TICK_CASES: list[tuple[str, list[TickRow]]] = [
    (
        "okx_ws_tickers_push.json",
        [("BTC-USDT", "last", "9999.99", "8888.88", "9999.99", 1597026383085)],
    ),
    ("okx_ws_mark_price_push.json", [("LTC-USD-190628", "mark", "0.1", "", "", 1597026383085)]),
    ("okx_ws_index_tickers_push.json", [("BTC-USDT", "index", "0.1", "", "", 1597026383085)]),
]

STATUS_CASES: list[tuple[str, str, str, str]] = [
    ("okx_ws_login_success.json", "logged_in", "", ""),
    ("okx_ws_login_failure.json", "login_failed", "60009", "Login failed."),
    (
        "okx_ws_tickers_subscribe_error.json",
        "error",
        "60012",
        'Invalid request: {"op": "subscribe", "argss":[{ "channel" : "tickers", '
        '"instId" : "LTC-USD-200327"}]}',
    ),
    (
        "okx_ws_notice_service_upgrade.json",
        "closing",
        "64008",
        "The connection will soon be closed for a service upgrade. Please reconnect.",
    ),
    (
        "okx_ws_channel_conn_count_error.json",
        "error",
        "",
        "too many connections on channel orders (30)",
    ),
]

SILENT_CASES = [
    "okx_ws_subscribe_ack.json",
    "okx_ws_orders_subscribe_ack.json",
    "okx_ws_channel_conn_count.json",
]

# Frames klaxon never receives: requests it sends (checked by their builders in
# test_okx_auth/test_okx_subscribe) and replies to WS order entry, which it does not use.
NOT_RECEIVED = [
    "okx_ws_login_request.json",
    "okx_ws_subscribe_request_tickers.json",
    "okx_ws_subscribe_request_index_tickers.json",
    "okx_ws_subscribe_request_liquidation_warning.json",
    "okx_ws_place_order_request.json",
    "okx_ws_place_order_success.json",
    "okx_ws_place_order_failure.json",
    "okx_ws_place_order_format_error.json",
]


@pytest.mark.parametrize(("name", "rows"), TICK_CASES)
def test_ticker_frames_become_lean_rows(okx: Okx, name: str, rows: list[TickRow]) -> None:
    parsed = okx.parse(frame(name))
    assert parsed.ticks == rows
    assert parsed.events == []


@pytest.mark.parametrize(("name", "status", "code", "detail"), STATUS_CASES)
def test_status_frames_become_feed_status(
    okx: Okx, name: str, status: str, code: str, detail: str
) -> None:
    before = datetime.now(UTC)
    parsed = okx.parse(frame(name), feed="private")
    assert parsed.ticks == []
    (event,) = parsed.events
    assert isinstance(event, FeedStatus)
    assert (event.venue, event.feed, event.status) == ("okx", "private", status)
    assert (event.code, event.detail) == (code, detail)
    assert before <= event.at <= datetime.now(UTC)


@pytest.mark.parametrize("raw", [*(frame(n) for n in SILENT_CASES), b"pong", "pong"])
def test_acks_and_pongs_parse_to_nothing(okx: Okx, raw: bytes | str) -> None:
    assert okx.parse(raw) == ([], [])


@pytest.mark.parametrize("name", NOT_RECEIVED)
def test_frames_klaxon_never_asks_for_are_unknown(okx: Okx, name: str) -> None:
    with pytest.raises(UnknownMessage):
        okx.parse(frame(name))


def _without(name: str, field: str) -> bytes:
    broken = doc(name)
    del broken["data"][0][field]
    return orjson.dumps(broken)


def _with(name: str, field: str, value: object) -> bytes:
    changed = doc(name)
    changed["data"][0][field] = value
    return orjson.dumps(changed)


UNKNOWN_CASES: list[tuple[str, bytes | str, str]] = [
    ("bad JSON", b'{"arg": {"channel": "tickers"', "not JSON"),
    ("JSON array", b"[]", "not a JSON object"),
    ("text", "hello", "not JSON"),
    ("unknown channel", b'{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[]}', "books"),
    ("unknown event", b'{"event":"mystery","code":"0","connId":"a4d3ae55"}', "mystery"),
    ("other notice", b'{"event":"notice","code":"64099","msg":"x"}', "notice"),
    ("push without data", b'{"arg":{"channel":"tickers","instId":"BTC-USDT"}}', "arg and data"),
    ("ticker without last", _without("okx_ws_tickers_push.json", "last"), "tickers"),
    ("ticker with empty last", _with("okx_ws_tickers_push.json", "last", ""), "tickers"),
    ("ticker price not a number", _with("okx_ws_tickers_push.json", "bidPx", "abc"), "tickers"),
    ("ticker price NaN", _with("okx_ws_tickers_push.json", "last", "NaN"), "tickers"),
    ("ticker price as JSON number", _with("okx_ws_tickers_push.json", "last", 1.5), "tickers"),
    ("ticker bad ts", _with("okx_ws_tickers_push.json", "ts", "soon"), "tickers"),
    ("ticker price two dots", _with("okx_ws_tickers_push.json", "last", "1.2.3"), "tickers"),
    ("ticker price Infinity", _with("okx_ws_tickers_push.json", "askPx", "Infinity"), "tickers"),
    ("ticker bid null", _with("okx_ws_tickers_push.json", "bidPx", None), "tickers"),
    ("ticker ask as JSON number", _with("okx_ws_tickers_push.json", "askPx", 5), "tickers"),
    ("ticker last as JSON list", _with("okx_ws_tickers_push.json", "last", ["1"]), "tickers"),
    ("mark price NaN", _with("okx_ws_mark_price_push.json", "markPx", "NaN"), "mark-price"),
    ("not UTF-8", frame("okx_ws_tickers_push.json").replace(b"BTC", b"\xff\xfe", 1), "not JSON"),
    ("mark without markPx", _without("okx_ws_mark_price_push.json", "markPx"), "mark-price"),
    ("order without ordId", _without("okx_ws_orders_push.json", "ordId"), "ordId"),
    ("fill without fillPx", _with("okx_ws_orders_push.json", "fillPx", ""), "orders"),
    ("position bad pos", _with("okx_ws_positions_push.json", "pos", "many"), "pos"),
    ("account without uTime", _without("okx_ws_account_push.json", "uTime"), "uTime"),
]


@pytest.mark.parametrize(
    ("case", "raw", "reason"), UNKNOWN_CASES, ids=[c[0] for c in UNKNOWN_CASES]
)
def test_anything_else_is_unknown(okx: Okx, case: str, raw: bytes | str, reason: str) -> None:
    with pytest.raises(UnknownMessage) as caught:
        okx.parse(raw)
    assert caught.value.venue == "okx"
    assert reason in caught.value.reason
    assert caught.value.sample


# Prices the lean path keeps as sent: plain decimals, without a Decimal built. What it refuses
# (a sign, an exponent, zero, ...) is in test_okx_edge.py and test_sanity.py.
KEPT_PRICES = ["9999.99", "65000", "0.00001234", "12.", ".5", "0.10"]


@pytest.mark.parametrize("price", KEPT_PRICES)
def test_lean_prices_are_kept_exactly_as_sent(okx: Okx, price: str) -> None:
    (row,) = okx.parse(_with("okx_ws_tickers_push.json", "last", price)).ticks
    assert row[2] == price
    assert Decimal(row[2]).is_finite()
    (row,) = okx.parse(_with("okx_ws_mark_price_push.json", "markPx", price)).ticks
    assert row[2] == price


def test_empty_bid_and_ask_are_absent(okx: Okx) -> None:
    raw = _with("okx_ws_tickers_push.json", "bidPx", "")
    (row,) = okx.parse(raw).ticks
    assert row[3] == ""
    item = orjson.loads(raw)["data"][0]
    assert OkxTicker.model_validate(item).bidPx is None


WIRE: dict[str, tuple[type[OkxTicker | OkxMarkPrice | OkxIndexTicker], str]] = {
    "tickers": (OkxTicker, "last"),
    "mark-price": (OkxMarkPrice, "markPx"),
    "index-tickers": (OkxIndexTicker, "idxPx"),
}


@pytest.mark.parametrize("name", [name for name, _ in TICK_CASES])
def test_lean_path_agrees_with_the_wire_model(okx: Okx, name: str) -> None:
    decoded = doc(name)
    model, price_field = WIRE[decoded["arg"]["channel"]]
    expected = [model.model_validate(item).to_event("okx") for item in decoded["data"]]
    rows = okx.parse(frame(name)).ticks
    assert [ticker_from_row("okx", row) for row in rows] == expected
    assert [row[2] for row in rows] == [item[price_field] for item in decoded["data"]]


def test_login_reply_echo_never_carries_credentials() -> None:
    creds = OkxCredentials(api_key="key-AAAA", secret_key="sec-BBBB", passphrase="pass-CCCC")
    okx = Okx(ACCOUNT, creds)
    echo = orjson.dumps(
        {
            "event": "error",
            "code": "60012",
            "msg": 'Invalid request: {"op":"login","args":[{"apiKey":"key-AAAA",'
            '"passphrase":"pass-CCCC"}]}',
        }
    )
    (event,) = okx.parse(echo, feed="private").events
    assert isinstance(event, FeedStatus)
    assert "key-AAAA" not in event.detail
    assert "pass-CCCC" not in event.detail
    with pytest.raises(UnknownMessage) as caught:
        okx.parse(b'{"event":"odd","msg":"pass-CCCC key-AAAA"}')
    assert "pass-CCCC" not in str(caught.value)
    assert "key-AAAA" not in str(caught.value)


def test_every_okx_fixture_is_checked() -> None:
    # Imported here: the private frames' module imports this one's helpers.
    from tests.unit.test_okx_parse_private import EVENT_CASES

    covered = {name for name, _ in TICK_CASES} | {name for name, _ in EVENT_CASES}
    covered |= {c[0] for c in STATUS_CASES} | set(SILENT_CASES) | set(NOT_RECEIVED)
    # REST responses are read by OkxRest: see test_okx_rest.py and test_okx_rest_reads.py.
    covered |= {"okx_rest_place_order_response.json", "okx_rest_place_algo_order_response.json"}
    covered |= {
        "okx_rest_get_order_response.json", "okx_rest_orders_pending_response.json",
        "okx_rest_fills_response.json", "okx_rest_account_config_response.json",
    }  # fmt: skip
    assert {p.name for p in DATA.glob("okx_*.json")} == covered
