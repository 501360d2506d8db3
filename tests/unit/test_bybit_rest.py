"""BybitRest against a local HTTP server: signed as pybit signs, replies sorted by what to do.

Rejections are the documented create-order reply with retCode and retMsg set to a documented
error code and its text (docs/v5/error.mdx): Bybit documents no error reply of its own.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from pybit._http_manager import generate_signature

from klaxon.redis_server import free_port
from tests.documented import Documented
from tests.local_http import LocalHttp, Reply, Seen
from watcher.errors import (
    ConfigError,
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
    UnknownMessage,
)
from watcher.events import Fill, OrderUpdate
from watcher.venues.bybit import Bybit, BybitCredentials, BybitRest

API_KEY, SECRET = "key-2c7d41", "secret-9e3b07"
CREDS = BybitCredentials(api_key=API_KEY, secret_key=SECRET)
NOW = 1672283754.132  # the clock the client reads: epoch seconds


doc = Documented("bybit").frame


def changed(name: str, **fields: Any) -> bytes:
    """A documented reply with some top-level fields set."""
    reply: dict[str, Any] = orjson.loads(doc(name))
    reply.update(fields)
    return orjson.dumps(reply)


def rest(url: str, timeout: float = 5.0) -> BybitRest:
    """A client with fixed credentials and clock."""
    return BybitRest(CREDS, url, account="main", timeout=timeout, clock=lambda: NOW)


def assert_signed(seen: Seen, payload: str) -> None:
    """The request carries the key, and pybit's signature of exactly `payload`."""
    h = seen.headers
    assert (h["x-bapi-api-key"], h["x-bapi-timestamp"]) == (API_KEY, "1672283754132")
    assert (h["x-bapi-recv-window"], h["x-bapi-sign-type"]) == ("5000", "2")
    signed = f"{h['x-bapi-timestamp']}{API_KEY}{h['x-bapi-recv-window']}{payload}"
    assert h["x-bapi-sign"] == generate_signature(False, SECRET, signed)


def assert_no_secrets(text: str) -> None:
    """Neither secret appears in `text`."""
    assert API_KEY not in text
    assert SECRET not in text


def test_place_order_is_signed_exactly_as_sent(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("bybit_rest_create_order_response.json")))
    order_id = rest(local.url).place_order(
        "spot:BTCUSDT", "buy", "limit", "0.01", price="30000.5", client_order_id="klx-7f3e"
    )
    assert order_id == "1321003749386327552"
    (seen,) = local.seen
    assert (seen.method, seen.path) == ("POST", "/v5/order/create")
    assert orjson.loads(seen.body) == {
        "category": "spot",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Limit",
        "qty": "0.01",
        "price": "30000.5",
        "orderLinkId": "klx-7f3e",
    }
    assert seen.headers["content-type"] == "application/json"
    assert_signed(seen, seen.body)


def test_market_reduce_only_order(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("bybit_rest_create_order_response.json")))
    rest(local.url).place_order("linear:BTCUSDT", "sell", "market", "1", reduce_only=True)
    (seen,) = local.seen
    assert orjson.loads(seen.body) == {
        "category": "linear",
        "symbol": "BTCUSDT",
        "side": "Sell",
        "orderType": "Market",
        "qty": "1",
        "reduceOnly": True,
    }


def test_a_spot_market_order_is_sized_in_the_base_coin(local: LocalHttp) -> None:
    # Bybit sizes a spot market buy in the quote coin unless marketUnit says baseCoin.
    local.replies.append(Reply(body=doc("bybit_rest_create_order_response.json")))
    rest(local.url).place_order("spot:BTCUSDT", "buy", "market", "0.01")
    (seen,) = local.seen
    assert orjson.loads(seen.body) == {
        "category": "spot",
        "symbol": "BTCUSDT",
        "side": "Buy",
        "orderType": "Market",
        "qty": "0.01",
        "marketUnit": "baseCoin",
    }


def test_cancel_order_by_either_id(local: LocalHttp) -> None:
    local.replies += [Reply(body=doc("bybit_rest_cancel_order_response.json"))] * 2
    client = rest(local.url)
    client.cancel_order("linear:BTCPERP", order_id="c6f055d9-7f21-4079-913d-e6523a9cfffa")
    client.cancel_order("linear:BTCPERP", client_order_id="linear-004")
    assert [s.path for s in local.seen] == ["/v5/order/cancel"] * 2
    assert [orjson.loads(s.body) for s in local.seen] == [
        {
            "category": "linear",
            "symbol": "BTCPERP",
            "orderId": "c6f055d9-7f21-4079-913d-e6523a9cfffa",
        },
        {"category": "linear", "symbol": "BTCPERP", "orderLinkId": "linear-004"},
    ]
    for seen in local.seen:
        assert_signed(seen, seen.body)
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        client.cancel_order("linear:BTCPERP")


def test_order_by_client_id_is_a_signed_get(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("bybit_rest_open_orders_response.json")))
    order = rest(local.url).order_by_client_id("linear:ETHUSDT", "test-000005")
    (seen,) = local.seen
    assert seen.method == "GET"
    assert seen.path == "/v5/order/realtime?category=linear&orderLinkId=test-000005&symbol=ETHUSDT"
    assert_signed(seen, seen.query)
    assert order == OrderUpdate(
        venue="bybit",
        account="main",
        market="linear:ETHUSDT",
        order_id="fd4300ae-7847-404e-b947-b46980a4d140",
        client_order_id="test-000005",
        side="buy",
        order_type="limit",
        state="live",
        size=Decimal("0.10"),
        filled=Decimal("0.00"),
        price=Decimal("1600.00"),
        avg_price=None,  # "0": no fill yet
        at=datetime(2023, 5, 22, 6, 55, 40, 561000, tzinfo=UTC),
    )


def empty(name: str = "bybit_rest_execution_list_response.json") -> bytes:
    """A documented list reply with its list emptied and no next page."""
    reply = orjson.loads(doc(name))
    reply["result"].update(list=[], nextPageCursor="")
    return orjson.dumps(reply)


def test_unknown_client_id_is_none(local: LocalHttp) -> None:
    local.replies.append(Reply(body=empty("bybit_rest_open_orders_response.json")))
    assert rest(local.url).order_by_client_id("linear:ETHUSDT", "never-sent") is None


FILL = Fill(
    venue="bybit",
    account="main",
    market="linear:ETHPERP",
    side="buy",
    price=Decimal("1190.15"),
    size=Decimal("0.1"),
    fee=Decimal("-0.071409"),
    trade_id="e0cbe81d-0f18-5866-9415-cf319b5dab3b",
    order_id="8c065341-7b52-4ca9-ac2c-37e31ac55c94",
    liquidity="taker",
    at=datetime(2022, 12, 29, 2, 58, 42, 429000, tzinfo=UTC),
)


NOW_MS = 1672283754132
WEEK = 7 * 86_400_000


def at_ms(ms: int) -> datetime:
    """An aware datetime at epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_fills_since_pages_through_week_windows(local: LocalHttp) -> None:
    page = doc("bybit_rest_execution_list_response.json")
    local.replies += [Reply(body=page), Reply(body=empty()), Reply(body=page), Reply(body=empty())]
    since = NOW_MS - WEEK - 5  # two windows: [since, since + week], then on to now
    fills = rest(local.url).fills_since(at_ms(since), "linear:ETHPERP")
    assert fills == [FILL]  # the same execution in both windows counts once
    cursor = "cursor=132766%3A2%2C132766%3A2&"  # as Bybit gave it, already escaped
    first = f"endTime={since + WEEK}&limit=100&startTime={since}&symbol=ETHPERP"
    second = f"endTime={NOW_MS}&limit=100&startTime={since + WEEK + 1}&symbol=ETHPERP"
    assert [s.query for s in local.seen] == [
        f"category=linear&{first}",
        f"category=linear&{cursor}{first}",
        f"category=linear&{second}",
        f"category=linear&{cursor}{second}",
    ]
    for seen in local.seen:
        assert seen.path.startswith("/v5/execution/list?")
        assert_signed(seen, seen.query)


def test_fills_since_without_a_market_asks_every_category(local: LocalHttp) -> None:
    page = doc("bybit_rest_execution_list_response.json")
    local.replies += [Reply(body=empty()), Reply(body=page), Reply(body=empty())]
    local.replies += [Reply(body=empty()), Reply(body=empty())]
    assert rest(local.url).fills_since(at_ms(1672282722429)) == [FILL]
    categories = [s.query.partition("&")[0] for s in local.seen]
    assert categories == [
        "category=spot",
        "category=linear",
        "category=linear",  # the next page
        "category=inverse",
        "category=option",
    ]


def test_fills_before_since_and_funding_are_left_out(local: LocalHttp) -> None:
    funding = orjson.loads(doc("bybit_rest_execution_list_response.json"))
    funding["result"]["list"][0]["execType"] = "Funding"
    funding["result"]["nextPageCursor"] = ""
    local.replies.append(Reply(body=orjson.dumps(funding)))
    assert rest(local.url).fills_since(at_ms(1672282722000), "linear:ETHPERP") == []
    local.replies += [Reply(body=doc("bybit_rest_execution_list_response.json"))]
    local.replies += [Reply(body=empty())]
    assert rest(local.url).fills_since(at_ms(1672282722430), "linear:ETHPERP") == []
    with pytest.raises(ValueError, match="aware"):
        rest(local.url).fills_since(datetime(2023, 1, 1))


def _key(**changes: Any) -> bytes:
    reply = orjson.loads(doc("bybit_rest_query_api_response.json"))
    reply["result"].update(changes)
    return orjson.dumps(reply)


TRADE_PERMISSIONS = {"ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer"]}
PERMISSION_CASES = [
    (doc("bybit_rest_query_api_response.json"), {"read"}),  # read-write, but no trade list
    (_key(permissions=TRADE_PERMISSIONS), {"read", "trade"}),
    (_key(permissions={"Spot": ["SpotTrade"]}), {"read", "trade"}),
    (_key(readOnly=1, permissions=TRADE_PERMISSIONS), {"read"}),
    (
        _key(permissions={"Options": ["OptionsTrade"], "Wallet": ["Withdraw"]}),
        {"read", "trade", "withdraw"},
    ),
]


@pytest.mark.parametrize(("reply", "granted"), PERMISSION_CASES)
def test_key_permissions(local: LocalHttp, reply: bytes, granted: set[str]) -> None:
    local.replies.append(Reply(body=reply))
    assert rest(local.url).key_permissions() == granted
    (seen,) = local.seen
    assert (seen.method, seen.path) == ("GET", "/v5/user/query-api")
    assert_signed(seen, "")


def test_an_unreadable_key_reply_never_shows_the_key(local: LocalHttp) -> None:
    local.replies.append(Reply(body=_key(readOnly="sometimes")))
    with pytest.raises(UnknownMessage, match="BybitApiKey") as caught:
        rest(local.url).key_permissions()
    assert "opjSlSOzqIeXROT5rq" not in str(caught.value)  # the key the reply echoes


def refusal(code: int, message: str) -> bytes:
    """The documented create-order reply carrying a documented error code instead."""
    return changed("bybit_rest_create_order_response.json", retCode=code, retMsg=message, result={})


def test_rejections_carry_bybit_code_and_message(local: LocalHttp) -> None:
    local.replies.append(Reply(body=refusal(110007, "Insufficient available balance")))
    with pytest.raises(OrderRejected) as caught:
        rest(local.url).place_order("linear:BTCUSDT", "buy", "market", "1", client_order_id="c1")
    assert (caught.value.venue, caught.value.code, caught.value.client_order_id) == (
        "bybit",
        "110007",
        "c1",
    )
    assert "Insufficient available balance" in str(caught.value)
    assert_no_secrets(str(caught.value) + repr(caught.value))


def test_a_refused_read_is_a_request_rejection(local: LocalHttp) -> None:
    local.replies.append(Reply(body=refusal(10003, "API key is invalid.")))
    with pytest.raises(RequestRejected) as caught:
        rest(local.url).key_permissions()
    assert type(caught.value) is RequestRejected  # not an order's rejection
    assert (caught.value.code, caught.value.message) == ("10003", "API key is invalid.")


def test_http_4xx_is_a_rejection(local: LocalHttp) -> None:
    local.replies.append(Reply(401, b"<html>unauthorized</html>"))
    local.replies.append(Reply(400, refusal(10001, "Request parameter error.")))
    client = rest(local.url)
    with pytest.raises(OrderRejected) as first:
        client.place_order("linear:BTCUSDT", "buy", "market", "1")
    assert first.value.code == "401"
    with pytest.raises(OrderRejected) as second:
        client.place_order("linear:BTCUSDT", "buy", "market", "1")
    assert second.value.code == "10001"


# (reply, what a write raises, its retry_after, what a read raises)
UNAVAILABLE_CASES = [
    (Reply(503, b"upstream down"), OutcomeUnknown, None, ExchangeUnavailable),
    (Reply(429, b"", {"Retry-After": "2"}), ExchangeUnavailable, 2.0, ExchangeUnavailable),
    (Reply(403, b"access too frequent"), ExchangeUnavailable, 600.0, ExchangeUnavailable),
    (
        Reply(
            body=refusal(10006, "Too many visits. Exceeded the API Rate Limit."),
            headers={"X-Bapi-Limit-Reset-Timestamp": "1672283756132"},
        ),
        ExchangeUnavailable,
        2.0,  # the reset is 2 s after the request's timestamp
        ExchangeUnavailable,
    ),
    (Reply(body=refusal(10002, "x")), ExchangeUnavailable, None, ExchangeUnavailable),
    (
        Reply(body=refusal(10016, "Internal System Error.")),
        OutcomeUnknown,
        None,
        ExchangeUnavailable,
    ),
]


@pytest.mark.parametrize(("reply", "write", "retry_after", "read"), UNAVAILABLE_CASES)
def test_overload_is_unavailable(
    local: LocalHttp,
    reply: Reply,
    write: type[ExchangeUnavailable],
    retry_after: float | None,
    read: type[ExchangeUnavailable],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    local.replies += [reply, reply]
    with pytest.raises(ExchangeUnavailable) as caught:
        rest(local.url).place_order("linear:BTCUSDT", "buy", "market", "1")
    assert type(caught.value) is write
    assert caught.value.retry_after == retry_after
    with pytest.raises(ExchangeUnavailable) as got:
        rest(local.url).order_by_client_id("linear:BTCUSDT", "c1")
    assert type(got.value) is read
    assert_no_secrets(str(caught.value) + str(got.value) + caplog.text)


def test_unreadable_success_is_unknown(local: LocalHttp) -> None:
    local.replies.append(Reply(200, b"<html>maintenance</html>"))
    with pytest.raises(UnknownMessage, match="unreadable"):
        rest(local.url).key_permissions()


def test_no_answer_is_unknown_for_a_write_and_unavailable_for_a_read(local: LocalHttp) -> None:
    release = threading.Event()
    local.replies += [Reply(hold=release), Reply(hold=release)]
    try:
        with pytest.raises(OutcomeUnknown, match="timed out"):
            rest(local.url, timeout=0.2).place_order("linear:BTCUSDT", "buy", "market", "1")
        with pytest.raises(ExchangeUnavailable, match="timed out") as caught:
            rest(local.url, timeout=0.2).key_permissions()
        assert type(caught.value) is ExchangeUnavailable
    finally:
        release.set()
    with pytest.raises(ExchangeUnavailable, match=r"(?i)refused") as refused:
        rest(f"http://127.0.0.1:{free_port()}").cancel_order("linear:BTCUSDT", order_id="1")
    assert type(refused.value) is ExchangeUnavailable  # nothing was sent: safe to resend
    assert_no_secrets(str(refused.value))


def test_bad_arguments_are_refused_before_sending() -> None:
    client = rest("http://127.0.0.1:9")
    with pytest.raises(ConfigError, match="<category>:<symbol>"):
        client.place_order("BTCUSDT", "buy", "market", "1")
    with pytest.raises(ValueError, match="buy or sell"):
        client.place_order("linear:BTCUSDT", "Buy", "market", "1")
    with pytest.raises(ConfigError, match="http"):
        BybitRest(CREDS, "ftp://127.0.0.1")
    with pytest.raises(ConfigError, match="credentials"):
        Bybit().trading()
