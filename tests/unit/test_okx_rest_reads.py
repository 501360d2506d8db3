"""OkxRest's reads and its failure sorting, against a scripted local server.

Replies are OKX's documented samples (tests/data/okx/); error replies put a code and message
from OKX's error-code table into the documented envelope.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import orjson
import pytest
from okx import utils as okx_utils

from klaxon.redis_server import free_port
from tests.local_http import LocalHttp, Reply
from tests.unit.test_okx_rest import CREDS, SECRET, assert_no_secrets, doc
from watcher.errors import (
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
    UnknownMessage,
)
from watcher.events import Fill, utc_from_ms
from watcher.venues.okx import OkxRest

FILL_MS = 1708587373361  # fillTime of the documented fills sample


def rest(url: str, timeout: float = 5.0, now: float | None = None) -> OkxRest:
    """A client for account "main"; `now` fixes its clock."""
    clock = time.time if now is None else (lambda: now)
    return OkxRest(CREDS, url, timeout=timeout, account="main", clock=clock)


def query(path: str) -> dict[str, str]:
    """The query parameters of a request path."""
    return dict(parse_qsl(urlsplit(path).query))


def placed_with(s_code: str, s_msg: str, sub_code: str = "") -> bytes:
    """The documented place-order reply with a per-order failure from OKX's code table."""
    reply = json.loads(doc("okx_rest_place_order_response.json"))
    reply["code"], reply["msg"] = "1", "Operation failed."
    reply["data"][0].update(ordId="", sCode=s_code, sMsg=s_msg, subCode=sub_code)
    return orjson.dumps(reply)


def test_order_by_client_id_is_a_signed_get_of_the_documented_record(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_get_order_response.json")))
    order = rest(local.url).order("BTC-USDT", client_order_id="abc123")
    assert order is not None
    assert (order.order_id, order.state) == ("680800019749904384", "filled")
    assert (order.filled, order.avg_price, order.account) == (
        Decimal("0.00192834"), Decimal("51858"), "main",
    )  # fmt: skip
    (seen,) = local.seen
    assert (seen.method, seen.body) == ("GET", "")
    assert seen.path == "/api/v5/trade/order?instId=BTC-USDT&clOrdId=abc123"
    stamp = seen.headers["ok-access-timestamp"]
    expected = okx_utils.signature(stamp, "GET", seen.path, "", SECRET).decode()
    assert seen.headers["ok-access-sign"] == expected


def test_an_order_okx_does_not_know_is_none(local: LocalHttp) -> None:
    local.replies.append(Reply(body=b'{"code":"51603","msg":"Order does not exist.","data":[]}'))
    assert rest(local.url).order("BTC-USDT", order_id="1") is None
    assert query(local.seen[0].path) == {"instId": "BTC-USDT", "ordId": "1"}
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        rest(local.url).order("BTC-USDT")


def test_pending_orders_read_the_documented_list(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_orders_pending_response.json")))
    (order,) = rest(local.url).pending_orders("BTC-USDT")
    assert (order.order_id, order.state, order.order_type) == (
        "1752588852617379840",
        "live",
        "post_only",
    )
    assert (order.price, order.size, order.filled) == (
        Decimal("13013.5"),
        Decimal("0.001"),
        Decimal(0),
    )
    assert query(local.seen[0].path) == {"instId": "BTC-USDT", "limit": "100"}


def test_documented_fill_rows_become_fill_events(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_fills_response.json")))
    since = utc_from_ms(FILL_MS)
    fills = rest(local.url, now=FILL_MS / 1000 + 60).fills_since(since)
    assert fills == [
        Fill(
            venue="okx", account="main", market="BTC-USDT", side="buy", price=Decimal("51858"),
            size=Decimal("0.00192834"), fee=Decimal("-0.00000192834"), fee_ccy="BTC",
            trade_id="744876980", order_id="680800019749904384", liquidity="taker",
            at=datetime(2024, 2, 22, 7, 36, 13, 361000, tzinfo=UTC),
        )
    ]  # fmt: skip
    (seen,) = local.seen
    assert urlsplit(seen.path).path == "/api/v5/trade/fills"
    assert query(seen.path) == {"begin": str(FILL_MS - 1), "limit": "100"}


def test_fills_older_than_three_days_come_from_fills_history(local: LocalHttp) -> None:
    local.replies += [Reply(body=doc("okx_rest_fills_response.json"))] * 4
    now = FILL_MS / 1000 + 4 * 86400
    fills = rest(local.url, now=now).fills_since(utc_from_ms(FILL_MS - 1000))
    assert [f.trade_id for f in fills] == ["744876980"]  # the same bill from 4 calls, once
    assert [urlsplit(s.path).path for s in local.seen] == ["/api/v5/trade/fills-history"] * 4
    assert [query(s.path)["instType"] for s in local.seen] == ["SPOT", "MARGIN", "SWAP", "FUTURES"]


def test_fills_since_wants_an_aware_time(local: LocalHttp) -> None:
    with pytest.raises(ValueError, match="aware"):
        rest(local.url).fills_since(datetime(2024, 1, 1))
    assert local.seen == []


def test_permissions_come_from_the_account_config(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("okx_rest_account_config_response.json")))
    assert rest(local.url).key_permissions() == {"read", "withdraw", "trade"}
    assert local.seen[0].path == "/api/v5/account/config"


def test_a_permission_klaxon_does_not_know_is_an_unknown_message(local: LocalHttp) -> None:
    reply = json.loads(doc("okx_rest_account_config_response.json"))
    reply["data"][0]["perm"] = "read_only,trade,transfer"
    local.replies.append(Reply(body=orjson.dumps(reply)))
    with pytest.raises(UnknownMessage, match="'transfer'"):
        rest(local.url).key_permissions()


def test_a_record_that_does_not_parse_is_an_unknown_message(local: LocalHttp) -> None:
    reply = json.loads(doc("okx_rest_fills_response.json"))
    del reply["data"][0]["fillTime"]
    local.replies.append(Reply(body=orjson.dumps(reply)))
    with pytest.raises(UnknownMessage, match="OkxFillRow"):
        rest(local.url).fills_since(datetime.now(UTC))


@pytest.mark.parametrize(
    ("field", "value"),
    [("fee", "1e999999999"), ("fillTime", "99999999999999999"), ("fillPx", "-51858")],
)
def test_a_record_with_an_absurd_value_is_an_unknown_message(
    local: LocalHttp, field: str, value: str
) -> None:
    reply = json.loads(doc("okx_rest_fills_response.json"))
    reply["data"][0][field] = value
    local.replies.append(Reply(body=orjson.dumps(reply)))
    with pytest.raises(UnknownMessage, match="OkxFillRow"):
        rest(local.url, now=FILL_MS / 1000 + 60).fills_since(utc_from_ms(FILL_MS - 1000))


BUSY = b'{"code":"50011","msg":"Rate limit reached. Please refer to API documentation and throttle requests accordingly.","data":[]}'  # noqa: E501
TIMED_OUT = b'{"code":"50004","msg":"API endpoint request timeout. (does not mean that the request was successful or failed, please check the request result).","data":[]}'  # noqa: E501
ORDER_TIMED_OUT = "Order timed out. Please try again. (does not mean that the request was successful or failed, please check the request result)"  # noqa: E501
MARGIN = "Order failed. Insufficient USDT balance in account"

PLACE_CASES = [
    (Reply(500, b""), OutcomeUnknown),
    (Reply(503, b""), OutcomeUnknown),
    (Reply(400, TIMED_OUT), OutcomeUnknown),
    (Reply(body=placed_with("51149", ORDER_TIMED_OUT)), OutcomeUnknown),
    (Reply(429, b"", {"Retry-After": "1"}), ExchangeUnavailable),
    (Reply(body=BUSY), ExchangeUnavailable),
    (Reply(body=placed_with("51008", MARGIN, "1000")), OrderRejected),
]


@pytest.mark.parametrize(("reply", "kind"), PLACE_CASES)
def test_a_failed_place_says_whether_the_order_may_exist(
    local: LocalHttp, reply: Reply, kind: type[Exception]
) -> None:
    local.replies.append(reply)
    with pytest.raises(kind) as caught:
        rest(local.url).place_order("BTC-USDT", "buy", "market", "1", client_order_id="c1")
    assert type(caught.value) is kind  # OutcomeUnknown is an ExchangeUnavailable: not the reverse
    assert_no_secrets(str(caught.value))


def test_margin_rejection_keeps_code_sub_code_and_message(local: LocalHttp) -> None:
    local.replies.append(Reply(body=placed_with("51008", MARGIN, "1000")))
    with pytest.raises(OrderRejected) as caught:
        rest(local.url).place_order("BTC-USDT", "buy", "market", "10", client_order_id="c2")
    rejected = caught.value
    assert (rejected.code, rejected.sub_code, rejected.message) == ("51008", "1000", MARGIN)
    assert rejected.client_order_id == "c2"
    assert str(rejected) == f"okx rejected order c2: 51008_1000 {MARGIN}"


def test_a_place_that_times_out_after_sending_may_exist(local: LocalHttp) -> None:
    release = threading.Event()
    local.replies.append(Reply(hold=release))
    try:
        with pytest.raises(OutcomeUnknown, match="timed out"):
            rest(local.url, timeout=0.2).place_order("BTC-USDT", "buy", "market", "1")
    finally:
        release.set()
    assert orjson.loads(local.seen[0].body)["instId"] == "BTC-USDT"  # it did arrive


def test_a_place_that_never_connected_certainly_does_not_exist() -> None:
    with pytest.raises(ExchangeUnavailable) as caught:
        rest(f"http://127.0.0.1:{free_port()}").place_order("BTC-USDT", "buy", "market", "1")
    assert not isinstance(caught.value, OutcomeUnknown)


@pytest.mark.parametrize("reply", [Reply(500, b""), Reply(429, b""), Reply(body=BUSY)])
def test_a_failed_read_is_plainly_unavailable(local: LocalHttp, reply: Reply) -> None:
    local.replies.append(reply)
    with pytest.raises(ExchangeUnavailable) as caught:
        rest(local.url).key_permissions()
    assert not isinstance(caught.value, OutcomeUnknown)  # a read changes nothing


def test_a_read_that_times_out_is_plainly_unavailable(local: LocalHttp) -> None:
    release = threading.Event()
    local.replies.append(Reply(hold=release))
    try:
        with pytest.raises(ExchangeUnavailable) as caught:
            rest(local.url, timeout=0.2).pending_orders()
    finally:
        release.set()
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_refused_read_is_a_request_rejection_without_secrets(local: LocalHttp) -> None:
    local.replies.append(Reply(401, b'{"code":"50113","msg":"Invalid signature.","data":[]}'))
    with pytest.raises(RequestRejected) as caught:
        rest(local.url).key_permissions()
    assert not isinstance(caught.value, OrderRejected)
    assert (caught.value.code, caught.value.message) == ("50113", "Invalid signature.")
    assert_no_secrets(str(caught.value) + repr(caught.value))
