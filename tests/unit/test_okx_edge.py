"""Validation at the edge: a documented OKX frame with one absurd value is an UnknownMessage.

Each variant is a documented frame (tests/data/okx) with one field changed; the lean ticker path
and the private channels alike must refuse it with UnknownMessage (never another exception), so
nothing absurd reaches the publisher or a worker. The reason is short and redacted.
"""

from __future__ import annotations

import time

import orjson
import pytest

from tests.unit.test_okx_parse import doc
from watcher.errors import REASON_LIMIT, UnknownMessage
from watcher.events import FeedStatus
from watcher.venues.okx import Okx, OkxCredentials

TICKERS = "okx_ws_tickers_push.json"
MARK = "okx_ws_mark_price_push.json"
AHEAD = str(int(time.time() * 1000) + 2 * 86_400_000)  # two days ahead of this clock
ARABIC_TS = "".join(chr(0x0660 + int(d)) for d in "1597026383085")


def changed(name: str, field: str, value: object) -> bytes:
    """A documented frame with one field of its first data item set to `value`."""
    frame = doc(name)
    frame["data"][0][field] = value
    return orjson.dumps(frame)


def raw_changed(name: str, field: str, literal: str) -> bytes:
    """A documented frame with one field written as a raw JSON literal (beyond orjson's ints)."""
    marker = "__LITERAL__"
    return changed(name, field, marker).replace(f'"{marker}"'.encode(), literal.encode())


LEAN: list[tuple[str, bytes]] = [
    ("negative last", changed(TICKERS, "last", "-9999.99")),
    ("zero last", changed(TICKERS, "last", "0")),
    ("zero last with decimals", changed(TICKERS, "last", "0.00")),
    ("huge exponent", changed(TICKERS, "last", "1e999999999")),
    ("exponent", changed(TICKERS, "last", "1E-8")),
    ("NaN last", changed(TICKERS, "last", "NaN")),
    ("Arabic-Indic digits", changed(TICKERS, "last", "\u0669\u0669\u0669\u0669.\u0669")),
    ("underscore", changed(TICKERS, "last", "1_000.5")),
    ("boolean last", changed(TICKERS, "last", True)),
    ("negative bid", changed(TICKERS, "bidPx", "-1")),
    ("NaN ask", changed(TICKERS, "askPx", "NaN")),
    ("ts 1e300", raw_changed(TICKERS, "ts", "1e300")),
    ("ts above 2^63 as a string", changed(TICKERS, "ts", "99999999999999999999")),
    ("ts above 2^63 as a number", raw_changed(TICKERS, "ts", "99999999999999999999")),
    ("ts absurd within int64", changed(TICKERS, "ts", "99999999999999999")),
    ("ts two days ahead", changed(TICKERS, "ts", AHEAD)),
    ("ts zero", changed(TICKERS, "ts", "0")),
    ("ts true", changed(TICKERS, "ts", True)),
    ("ts Arabic-Indic digits", changed(TICKERS, "ts", ARABIC_TS)),
    ("ts with spaces", changed(TICKERS, "ts", " 597026383085")),
    ("market too long", changed(TICKERS, "instId", "X" * 65)),
    ("market a number", changed(TICKERS, "instId", 7)),
    ("item not an object", orjson.dumps({"arg": {"channel": "tickers"}, "data": ["x"]})),
    ("mark zero", changed(MARK, "markPx", "0")),
    ("mark ts 1e300", raw_changed(MARK, "ts", "1e300")),
    ("mark ts absurd", changed(MARK, "ts", "99999999999999999")),
]


@pytest.mark.parametrize(("case", "raw"), LEAN, ids=[c for c, _ in LEAN])
def test_the_lean_path_refuses_what_is_not_a_tick(case: str, raw: bytes) -> None:
    with pytest.raises(UnknownMessage) as caught:
        Okx("main").parse(raw)
    assert caught.value.reason.startswith(("tickers: bad item", "mark-price: bad item"))


@pytest.mark.parametrize(("field", "zero"), [("bidPx", "0"), ("askPx", "0.00000000")])
def test_a_zero_bid_or_ask_is_an_empty_side_of_the_book(field: str, zero: str) -> None:
    (row,) = Okx("main").parse(changed(TICKERS, field, zero)).ticks
    assert row[2] == "9999.99"
    assert row[3 if field == "bidPx" else 4] == ""


PRIVATE: list[tuple[str, bytes]] = [
    ("order uTime above 2^63", changed("okx_ws_orders_push.json", "uTime", "9" * 20)),
    ("order uTime absurd", changed("okx_ws_orders_push.json", "uTime", "99999999999999999")),
    ("order uTime 1e300", raw_changed("okx_ws_orders_push.json", "uTime", "1e300")),
    ("order fillTime far ahead", changed("okx_ws_orders_push.json", "fillTime", AHEAD)),
    ("order fillPx huge", changed("okx_ws_orders_push.json", "fillPx", "1e999999999")),
    ("order fillPx negative", changed("okx_ws_orders_push.json", "fillPx", "-31527.1")),
    ("order sz huge", changed("okx_ws_orders_push.json", "sz", "1e70")),
    ("fill ts above 2^63", changed("okx_ws_fills_push.json", "ts", "9" * 20)),
    ("fill ts negative", changed("okx_ws_fills_push.json", "ts", "-1")),
    ("position uTime absurd", changed("okx_ws_positions_push.json", "uTime", "9" * 17)),
    ("position pos huge", changed("okx_ws_positions_push.json", "pos", "1e999999")),
    ("account uTime huge", changed("okx_ws_account_push.json", "uTime", "9" * 30)),
    ("account totalEq huge", changed("okx_ws_account_push.json", "totalEq", "-1e100")),
    ("balance pTime absurd", changed("okx_ws_balance_and_position_push.json", "pTime", "9" * 19)),
    ("algo cTime absurd", changed("okx_ws_orders_algo_push.json", "cTime", "9" * 17)),
    ("algo uTime absurd", changed("okx_ws_orders_algo_push.json", "uTime", "9" * 25)),
    ("liquidation warning uTime", changed("okx_ws_liquidation_warning_push.json", "uTime", "0")),
]


@pytest.mark.parametrize(("case", "raw"), PRIVATE, ids=[c for c, _ in PRIVATE])
def test_a_private_push_with_an_absurd_value_is_unknown(case: str, raw: bytes) -> None:
    with pytest.raises(UnknownMessage) as caught:
        Okx("main").parse(raw, feed="private")
    assert caught.value.venue == "okx"


# orjson reads JSON nested up to 1,024 levels: deep enough to overflow str()'s recursion.
DEEP = "[" * 1_000 + '"x"' + "]" * 1_000
DEEP_CASES: list[tuple[str, bytes]] = [
    ("deep channel", f'{{"arg":{{"channel":{DEEP}}},"data":[]}}'.encode()),
    ("deep event", f'{{"event":{DEEP}}}'.encode()),
    ("deep code", f'{{"event":"error","code":{DEEP},"msg":{DEEP}}}'.encode()),
    ("deep conn count", f'{{"event":"channel-conn-count-error","channel":{DEEP}}}'.encode()),
    ("deep order field", raw_changed("okx_ws_orders_push.json", "ordId", DEEP)),
    ("deep ticker field", raw_changed(TICKERS, "last", DEEP)),
]


@pytest.mark.parametrize(("case", "raw"), DEEP_CASES, ids=[c for c, _ in DEEP_CASES])
def test_deeply_nested_json_never_raises_recursion_error(case: str, raw: bytes) -> None:
    okx = Okx("main")
    if case in ("deep code", "deep conn count"):  # error events: non-scalar values are blank
        (event,) = okx.parse(raw, feed="private").events
        assert isinstance(event, FeedStatus)
        assert (event.status, event.code) == ("error", "")
        assert "[" not in event.detail
        return
    with pytest.raises(UnknownMessage) as caught:
        okx.parse(raw, feed="private")
    assert len(caught.value.reason) <= REASON_LIMIT + 30


def test_a_reason_echoing_a_channel_is_short_and_redacted() -> None:
    creds = OkxCredentials(api_key="key-Z9Y8X7", secret_key="sec-W6V5", passphrase="pass-U4T3")
    okx = Okx("main", creds)
    channel = "key-Z9Y8X7 pass-U4T3 " + "c" * 5_000
    with pytest.raises(UnknownMessage) as caught:
        okx.parse(orjson.dumps({"arg": {"channel": channel}, "data": []}))
    with pytest.raises(UnknownMessage) as event:
        okx.parse(orjson.dumps({"event": "pass-U4T3\nforged log line " + "e" * 5_000}))
    for exc in (caught.value, event.value):
        assert len(exc.reason) <= REASON_LIMIT + 30  # the sample's "...(+N chars)" tail
        for secret in ("key-Z9Y8X7", "pass-U4T3"):
            assert secret not in exc.reason
            assert secret not in exc.sample
            assert secret not in str(exc)
        assert "\n" not in str(exc)
