"""Malformed Binance frames raise UnknownMessage (truncated, redacted); nothing else escapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from watcher.errors import UnknownMessage
from watcher.venues.binance import Binance, BinanceCredentials
from watcher.venues.binanceusdm import BinanceUsdm

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"


def doc(name: str) -> dict[str, Any]:
    """A documented frame, decoded, to derive a broken variant from."""
    decoded: dict[str, Any] = orjson.loads((DATA / name).read_bytes())
    return decoded


def pushed(name: str, stream: str, **changes: object) -> bytes:
    """A documented market-data payload with `changes`, wrapped as a combined stream sends it."""
    return json.dumps({"stream": stream, "data": doc(name) | changes}).encode()


def ticker(**changes: object) -> bytes:
    """The documented spot 24hrTicker with `changes`."""
    return pushed("binance_spot_ws_24hrTicker_push.json", "bnbbtc@ticker", **changes)


def book(**changes: object) -> bytes:
    """The documented USD-M bookTicker with `changes`."""
    return pushed("binance_futures_ws_bookTicker_push.json", "bnbusdt@bookTicker", **changes)


def mark(**changes: object) -> bytes:
    """The documented markPriceUpdate with `changes`."""
    return pushed("binance_futures_ws_markPriceUpdate_push.json", "btcusdt@markPrice", **changes)


def user(name: str, **changes: object) -> bytes:
    """A documented USD-M user-data event with `changes` to its top level."""
    return orjson.dumps(doc(name) | changes)


def order(**changes: object) -> bytes:
    """The documented ORDER_TRADE_UPDATE with `changes` to its order."""
    update = doc("binance_futures_uds_ORDER_TRADE_UPDATE.json")
    update["o"] |= changes
    return orjson.dumps(update)


MALFORMED: list[tuple[str, bytes]] = [
    ("not JSON", b"{not json"),
    ("not an object", b"[1, 2]"),
    ("pong text", b"pong"),
    ("data not an object", b'{"stream": "bnbbtc@ticker", "data": [1]}'),
    ("NaN price", ticker(c="NaN")),
    ("negative price", ticker(c="-0.0025")),
    ("zero price", ticker(c="0.00000000")),
    ("exponent", ticker(c="1e999999999")),
    ("full-width digits", ticker(c="\uff10.\uff10\uff12")),
    ("underscore", ticker(c="1_000.5")),
    ("two dots", ticker(c="1.0.5")),
    ("number, not string", ticker(c=0.0025)),
    ("null price", ticker(c=None)),
    ("no last price", orjson.dumps({"stream": "x", "data": {"e": "24hrTicker", "s": "BNBBTC"}})),
    ("junk bid", ticker(b="bid")),
    ("boolean time", ticker(E=True)),
    ("float time", ticker(E=1.0e300)),
    ("huge time", ticker(E=10**20)),
    ("time as text", ticker(E="1672515782136")),
    ("zero time", ticker(E=0)),
    ("empty symbol", ticker(s="")),
    ("symbol with a dash", ticker(s="BNB-BTC")),
    ("symbol not a string", ticker(s=42)),
    ("book: junk ask", book(a="1e3")),
    ("book: no bid", orjson.dumps({"stream": "x", "data": {"e": "bookTicker", "s": "BNBUSDT"}})),
    ("mark: Infinity", mark(p="Infinity")),
    ("mark: no time", mark(E=None)),
    ("unknown event", b'{"e": "newFangledEvent", "E": 1}'),
    ("event type not a string", b'{"e": 7, "E": 1}'),
    ("no event, reply or error", b'{"hello": "world"}'),
    ("order: bad side", order(S="LONG")),
    ("order: NaN quantity", order(q="NaN")),
    ("order: huge time", order(T=10**16)),
    ("order: negative price", order(p="-1")),
    ("order: id as text", order(i="8886774")),
    ("order: no order", user("binance_futures_uds_ORDER_TRADE_UPDATE.json", o=None)),
    ("account: bad position side", user("binance_futures_uds_MARGIN_CALL.json", p=[{"ps": "UP"}])),
    ("trade lite: zero price", user("binance_futures_uds_TRADE_LITE.json", L="0")),
    ("trade lite: zero quantity", user("binance_futures_uds_TRADE_LITE.json", l="0.000")),
    ("trade lite: time 1e300", user("binance_futures_uds_TRADE_LITE.json", T=1.0e300)),
    ("deep nesting", b'{"e": "ORDER_TRADE_UPDATE", "o": ' + b"[" * 200 + b"]" * 200 + b"}"),
    ("mark: a symbol past 64 characters", mark(s="X" * 65)),
    ("mark: a time two days ahead", mark(E=10**13)),
]

# JSON nested as deep as orjson reads: str() of it overflows the recursion limit.
DEEP = "[" * 1_000 + "1" + "]" * 1_000


@pytest.mark.parametrize(
    "raw",
    [
        f'{{"id": null, "status": 401, "error": {{"code": {DEEP}, "msg": {DEEP}}}}}',
        f'{{"id": "a", "status": {DEEP}}}',
        f'{{"code": {DEEP}, "msg": {DEEP}}}',
    ],
    ids=["deep error code", "deep status", "deep refusal"],
)
def test_a_deeply_nested_reply_is_a_status_without_it(raw: str) -> None:
    (status,) = Binance("main").parse(raw.encode(), feed="private").events
    assert status.kind == "feed"
    assert "[" not in status.model_dump_json()


@pytest.mark.parametrize(("case", "raw"), MALFORMED, ids=[c for c, _ in MALFORMED])
def test_malformed_frames_raise_unknown_message(case: str, raw: bytes) -> None:
    venue = BinanceUsdm("main")
    with pytest.raises(UnknownMessage) as caught:
        venue.parse(raw, feed="private")
    assert caught.value.venue == "binanceusdm"
    assert caught.value.reason
    assert len(caught.value.sample) <= 200 + len("...(+99999 chars)")


def test_a_bad_field_is_named_in_the_reason() -> None:
    with pytest.raises(UnknownMessage, match=r"ORDER_TRADE_UPDATE: invalid o\.q"):
        BinanceUsdm().parse(order(q="NaN"))


def test_a_long_frame_is_truncated_in_the_sample() -> None:
    raw = orjson.dumps({"e": "newFangledEvent", "pad": "x" * 5000})
    with pytest.raises(UnknownMessage) as caught:
        Binance().parse(raw)
    assert caught.value.sample.endswith("chars)")
    assert len(caught.value.sample) < 300


def test_secrets_are_redacted_from_unknown_messages() -> None:
    creds = BinanceCredentials(api_key="apikey-9f8e7d6c", secret_key="secret-1a2b3c")
    venue = Binance("main", creds)
    raw = orjson.dumps({"e": "apikey-9f8e7d6c", "echo": "apikey-9f8e7d6c"})
    with pytest.raises(UnknownMessage) as caught:
        venue.parse(raw)
    assert "apikey-9f8e7d6c" not in str(caught.value)
    assert "***" in caught.value.sample
