"""Bybit signatures match pybit's for the same inputs; credentials never show."""

from __future__ import annotations

import json

import orjson
import pytest
from pybit._http_manager import _V5HTTPManager, generate_signature

from tests.documented import Documented
from watcher.venues.bybit import (
    Bybit,
    BybitCredentials,
    auth_frame,
    auth_sign,
    query_string,
    rest_headers,
    rest_sign,
)
from watcher.venues.bybit.auth import AUTH_EXPIRES_MS, RECV_WINDOW_MS

KEY, SECRET = "XXXXXXXXXX", "the-secret-3f9c1a"  # the docs publish no secret: any will do
CREDS = BybitCredentials(api_key=KEY, secret_key=SECRET)


def pybit(key: str = KEY, secret: str = SECRET) -> _V5HTTPManager:
    """pybit's HTTP manager (its constructor opens no connection)."""
    return _V5HTTPManager(api_key=key, api_secret=secret)


@pytest.mark.parametrize("expires", [1662350400000, 1711010121452, 0])
@pytest.mark.parametrize("secret", [SECRET, "s3cr3t/with+base64=chars", "ключ"])
def test_ws_auth_sign_matches_pybit(secret: str, expires: int) -> None:
    assert auth_sign(secret, expires) == generate_signature(False, secret, f"GET/realtime{expires}")


def test_auth_frame_has_the_documented_shape() -> None:
    documented = Documented("bybit").doc("bybit_ws_auth_request.json")
    frame = orjson.loads(auth_frame(CREDS, now=1662350399.5))
    assert frame["op"] == documented["op"] == "auth"
    key, expires, signature = frame["args"]
    assert key == KEY
    assert type(expires) is int  # milliseconds, a JSON number as in the docs
    assert expires == 1662350399500 + AUTH_EXPIRES_MS
    assert signature == generate_signature(False, SECRET, f"GET/realtime{expires}")
    assert [type(a) for a in frame["args"]] == [type(a) for a in documented["args"]]


def test_the_venue_logs_in_with_a_fresh_frame() -> None:
    first = orjson.loads(Bybit("main", CREDS).login())
    assert first["op"] == "auth"
    key, expires, signature = first["args"]
    assert key == KEY
    assert signature == generate_signature(False, SECRET, f"GET/realtime{expires}")


# (method, params) as klaxon sends them: pybit signs a GET's sorted query, a POST's JSON body.
REST_CASES: list[tuple[str, dict[str, str | int]]] = [
    ("GET", {"category": "option", "symbol": "BTC-29JUL22-25000-C"}),  # the docs' example
    ("GET", {"symbol": "ETHUSDT", "category": "linear", "orderLinkId": "klx-1a2b"}),
    ("GET", {}),  # /v5/user/query-api
    ("POST", {"category": "option"}),  # the docs' example
    ("POST", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "qty": "0.01"}),
]


@pytest.mark.parametrize(("method", "params"), REST_CASES)
def test_rest_sign_matches_pybit(method: str, params: dict[str, str | int]) -> None:
    sdk = pybit()
    payload = sdk.prepare_payload(method, dict(params))  # sorted k=v query, or json.dumps body
    timestamp = 1658384314791
    expected = sdk._auth(payload, RECV_WINDOW_MS, timestamp)
    assert rest_sign(SECRET, timestamp, KEY, RECV_WINDOW_MS, payload) == expected
    if method == "GET":
        assert query_string(params) == payload  # what klaxon sends is what pybit signs


def test_rest_sign_covers_the_exact_body() -> None:
    compact = orjson.dumps({"category": "option"}).decode()
    spaced = json.dumps({"category": "option"})  # pybit's separators
    assert compact != spaced
    assert rest_sign(SECRET, 1, KEY, 5000, compact) != rest_sign(SECRET, 1, KEY, 5000, spaced)
    assert rest_sign(SECRET, 1, KEY, 5000, compact) == pybit()._auth(compact, 5000, 1)


def test_rest_headers_carry_the_pybit_signature() -> None:
    payload = '{"category":"spot","symbol":"BTCUSDT"}'
    headers = rest_headers(CREDS, 1672211918471, payload)
    assert headers == {
        "X-BAPI-API-KEY": KEY,
        "X-BAPI-TIMESTAMP": "1672211918471",
        "X-BAPI-RECV-WINDOW": str(RECV_WINDOW_MS),
        "X-BAPI-SIGN": pybit()._auth(payload, RECV_WINDOW_MS, 1672211918471),
        "X-BAPI-SIGN-TYPE": "2",
    }


def test_query_values_are_escaped_and_cursors_pass_as_given() -> None:
    cursor = "page_args%3Dfd4300ae%26symbol%3D6%26"  # nextPageCursor, as Bybit returns it
    assert query_string({"cursor": cursor, "symbol": "A B"}) == f"cursor={cursor}&symbol=A%20B"


def test_credentials_never_show() -> None:
    venue = Bybit("main", CREDS)
    texts = [repr(CREDS), str(CREDS), CREDS.model_dump_json(), repr(venue), repr(venue.trading())]
    texts += [repr(f) for f in venue.feeds([("linear:BTCUSDT", "last")], private=True)]
    for text in texts:
        assert KEY not in text
        assert SECRET not in text
