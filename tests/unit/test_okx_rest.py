"""OkxRest against a local HTTP server: signed exactly as sent, errors sorted by what to do."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import orjson
import pytest
from okx import utils as okx_utils

from klaxon.redis_server import free_port
from tests.local_http import LocalHttp, Reply
from watcher.errors import ExchangeUnavailable, OrderRejected
from watcher.venues.okx import Okx, OkxCredentials, OkxRest, read_order_response

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
API_KEY, SECRET, PASSPHRASE = "key-7f3e9a", "secret-4b2d8c", "phrase-1c5a6e"
CREDS = OkxCredentials(api_key=API_KEY, secret_key=SECRET, passphrase=PASSPHRASE)


def doc(name: str) -> bytes:
    """A documented frame, byte for byte."""
    return (DATA / name).read_bytes()


def rest(url: str, demo: bool = False, timeout: float = 5.0) -> OkxRest:
    """A client with fixed credentials (the secrets the tests look for)."""
    return OkxRest(CREDS, url, demo=demo, timeout=timeout)


def assert_no_secrets(text: str) -> None:
    """None of the three secrets appears in `text`."""
    for secret in (API_KEY, SECRET, PASSPHRASE):
        assert secret not in text


def test_place_order_is_signed_exactly_as_sent(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_place_order_response.json")))
    order_id = rest(local.url).place_order(
        "BTC-USDT", "buy", "limit", "0.01", price="30000.5", client_order_id="oktswap6"
    )
    assert order_id == "312269865356374016"
    (seen,) = local.seen
    assert seen.path == "/api/v5/trade/order"
    assert orjson.loads(seen.body) == {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "sz": "0.01",
        "px": "30000.5",
        "clOrdId": "oktswap6",
    }
    timestamp = seen.headers["ok-access-timestamp"]
    expected = okx_utils.signature(timestamp, "POST", seen.path, seen.body, SECRET).decode()
    assert seen.headers["ok-access-sign"] == expected
    assert seen.headers["ok-access-key"] == API_KEY
    assert seen.headers["ok-access-passphrase"] == PASSPHRASE
    assert seen.headers["content-type"] == "application/json"
    assert "x-simulated-trading" not in seen.headers


def test_demo_adds_the_simulated_trading_header(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_place_order_response.json")))
    Okx("main", CREDS, demo=True, rest_url=local.url).trading().place_order(
        "BTC-USDT", "sell", "market", "1"
    )
    (seen,) = local.seen
    assert seen.headers["x-simulated-trading"] == "1"
    assert orjson.loads(seen.body) == {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "sell",
        "ordType": "market",
        "sz": "1",
    }


def test_cancel_order_by_either_id(local: LocalHttp) -> None:
    local.replies += [Reply(body=doc("okx_rest_place_order_response.json"))] * 2
    client = rest(local.url)
    client.cancel_order("BTC-USDT", order_id="312269865356374016")
    client.cancel_order("BTC-USDT", client_order_id="oktswap6")
    assert [s.path for s in local.seen] == ["/api/v5/trade/cancel-order"] * 2
    assert [orjson.loads(s.body) for s in local.seen] == [
        {"instId": "BTC-USDT", "ordId": "312269865356374016"},
        {"instId": "BTC-USDT", "clOrdId": "oktswap6"},
    ]
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        client.cancel_order("BTC-USDT")


READ_CASES = [
    ("okx_rest_place_order_response.json", "312269865356374016"),
    ("okx_rest_place_algo_order_response.json", "1836487817828872192"),
    ("okx_ws_place_order_success.json", "12345689"),  # same result shape as REST
]


@pytest.mark.parametrize(("name", "order_id"), READ_CASES)
def test_reader_accepts_documented_successes(name: str, order_id: str) -> None:
    assert read_order_response(doc(name)) == order_id


REJECT_CASES = [
    ("okx_ws_place_order_failure.json", "5XXXX", "not exist"),  # code 1, reason in sCode
    ("okx_ws_place_order_format_error.json", "60013", "Invalid args"),  # no per-order result
]


@pytest.mark.parametrize(("name", "code", "message"), REJECT_CASES)
def test_rejections_carry_okx_code_and_message(
    local: LocalHttp, name: str, code: str, message: str
) -> None:
    local.replies.append(Reply(body=doc(name)))
    with pytest.raises(OrderRejected) as caught:
        rest(local.url).place_order("BTC-USDT", "buy", "market", "1", client_order_id="abc123")
    assert (caught.value.venue, caught.value.code) == ("okx", code)
    assert caught.value.client_order_id == "abc123"
    assert message in str(caught.value)
    assert_no_secrets(str(caught.value) + repr(caught.value))


def test_http_4xx_is_a_rejection_with_okx_code(local: LocalHttp) -> None:
    local.replies.append(Reply(401, b'{"code":"50113","msg":"Invalid Sign"}'))
    local.replies.append(Reply(400, b"<html>bad request</html>"))
    client = rest(local.url)
    with pytest.raises(OrderRejected) as first:
        client.place_order("BTC-USDT", "buy", "market", "1")
    assert (first.value.code, "Invalid Sign" in str(first.value)) == ("50113", True)
    with pytest.raises(OrderRejected) as second:
        client.place_order("BTC-USDT", "buy", "market", "1")
    assert second.value.code == "400"


UNAVAILABLE_CASES = [
    (Reply(503, b"upstream down"), None),
    (Reply(502, b""), None),
    (Reply(429, b'{"code":"50011","msg":"Too Many Requests"}', {"Retry-After": "2"}), 2.0),
    (Reply(429, b"", {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), None),
]


@pytest.mark.parametrize(("reply", "retry_after"), UNAVAILABLE_CASES)
def test_overload_is_unavailable(
    local: LocalHttp,
    reply: Reply,
    retry_after: float | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    local.replies.append(reply)
    with pytest.raises(ExchangeUnavailable) as caught:
        rest(local.url).place_order("BTC-USDT", "buy", "market", "1")
    assert caught.value.retry_after == retry_after
    assert str(reply.status) in str(caught.value)
    assert_no_secrets(str(caught.value) + caplog.text)


def test_timeout_is_unavailable(local: LocalHttp) -> None:
    release = threading.Event()
    local.replies.append(Reply(hold=release))
    try:
        with pytest.raises(ExchangeUnavailable) as caught:
            rest(local.url, timeout=0.2).place_order("BTC-USDT", "buy", "market", "1")
    finally:
        release.set()
    assert "timed out" in str(caught.value)
    assert_no_secrets(str(caught.value))


def test_refused_connection_is_unavailable() -> None:
    with pytest.raises(ExchangeUnavailable) as caught:
        rest(f"http://127.0.0.1:{free_port()}").cancel_order("BTC-USDT", order_id="1")
    assert "refused" in str(caught.value).lower()
    assert_no_secrets(str(caught.value))
