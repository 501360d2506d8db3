"""OKX signatures match python-okx's for the same inputs; credentials never show."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from okx import utils as okx_utils
from okx.websocket import WsUtils

from watcher.venues.okx import (
    Okx,
    OkxCredentials,
    login_frame,
    login_sign,
    rest_sign,
    rest_timestamp,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
DOC_SECRET = "22582BD0CFF14C41EDBF1AB98506286D"  # the docs' example secret key
CREDS = OkxCredentials(
    api_key="985d5b66-57ce-40fb-b714-afc0b9787083",
    secret_key=DOC_SECRET,
    passphrase="my-Passphrase-1",
)


def _sdk_sign(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    message = okx_utils.pre_hash(timestamp, method, path, body, debug=False)
    signed: bytes = okx_utils.sign(message, secret)
    return signed.decode()


@pytest.mark.parametrize("timestamp", ["1538054050", "1700000000", "0"])
@pytest.mark.parametrize("secret", [DOC_SECRET, "s3cr3t/with+base64=chars", "ключ"])
def test_login_sign_matches_python_okx(secret: str, timestamp: str) -> None:
    expected = _sdk_sign(secret, timestamp, "GET", "/users/self/verify", "")
    assert login_sign(secret, timestamp) == expected


def test_login_sign_matches_python_okx_login_params() -> None:
    sdk: dict[str, Any] = json.loads(
        WsUtils.initLoginParams(False, "the-key", "the-passphrase", DOC_SECRET)
    )
    arg = sdk["args"][0]
    assert login_sign(DOC_SECRET, str(arg["timestamp"])) == arg["sign"]


def test_login_frame_has_the_documented_shape() -> None:
    documented = orjson.loads((DATA / "okx_ws_login_request.json").read_bytes())
    frame = orjson.loads(login_frame(CREDS, now=1538054050.987))
    assert frame["op"] == documented["op"] == "login"
    (arg,) = frame["args"]
    assert set(arg) == set(documented["args"][0])
    assert arg["timestamp"] == "1538054050"  # epoch seconds, as a string
    assert arg["apiKey"] == "985d5b66-57ce-40fb-b714-afc0b9787083"
    assert arg["passphrase"] == "my-Passphrase-1"
    assert arg["sign"] == _sdk_sign(DOC_SECRET, "1538054050", "GET", "/users/self/verify", "")


REST_CASES = [
    ("POST", "/api/v5/trade/order", '{"instId":"BTC-USDT","tdMode":"cash","side":"buy"}'),
    ("POST", "/api/v5/trade/order", json.dumps({"instId": "BTC-USDT", "sz": "1"})),
    ("GET", "/api/v5/account/balance?ccy=BTC", ""),
    ("post", "/api/v5/trade/cancel-order", '{"instId":"BTC-USDT","ordId":"1"}'),
]


@pytest.mark.parametrize(("method", "path", "body"), REST_CASES)
def test_rest_sign_matches_python_okx(method: str, path: str, body: str) -> None:
    timestamp = "2020-12-08T09:08:57.715Z"
    mine = rest_sign(DOC_SECRET, timestamp, method, path, body)
    assert mine == _sdk_sign(DOC_SECRET, timestamp, method, path, body)
    assert mine == okx_utils.signature(timestamp, method, path, body, DOC_SECRET).decode()


def test_rest_sign_covers_the_exact_body() -> None:
    timestamp = "2020-12-08T09:08:57.715Z"
    compact = '{"instId":"BTC-USDT","sz":"1"}'
    spaced = '{"instId": "BTC-USDT", "sz": "1"}'
    path = "/api/v5/trade/order"
    assert rest_sign(DOC_SECRET, timestamp, "POST", path, compact) != rest_sign(
        DOC_SECRET, timestamp, "POST", path, spaced
    )


def test_rest_timestamp_is_iso_utc_with_milliseconds() -> None:
    assert rest_timestamp(1607418537.715) == "2020-12-08T09:08:57.715Z"
    assert rest_timestamp(0.0) == "1970-01-01T00:00:00.000Z"
    shape = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
    assert shape.match(okx_utils.get_timestamp())  # the SDK's own format, for comparison


def test_credentials_never_show() -> None:
    secrets = ("985d5b66-57ce-40fb-b714-afc0b9787083", DOC_SECRET, "my-Passphrase-1")
    okx = Okx("main", CREDS)
    texts = [repr(CREDS), str(CREDS), CREDS.model_dump_json(), repr(okx), repr(okx.trading())]
    texts += [repr(feed) for feed in okx.feeds([("BTC-USDT", "last")], private=True)]
    for text in texts:
        for secret in secrets:
            assert secret not in text
