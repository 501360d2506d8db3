"""BinanceRest against a local HTTP server: signed as sent, documented replies, errors sorted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qsl

import orjson
import pytest
from binance.lib.authentication import hmac_hashing

from tests.local_http import LocalHttp, Reply, Seen
from watcher.errors import ExchangeUnavailable, OrderRejected, OutcomeUnknown, RequestRejected
from watcher.events import Fill, OrderUpdate
from watcher.venues.binance import SPOT, USDM, BinanceCredentials, BinanceRest

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
API_KEY, SECRET = "key-3e8a1f", "secret-7b2c9d"
CREDS = BinanceCredentials(api_key=API_KEY, secret_key=SECRET)
NOW = 1_700_000_000.0  # the client's clock


def doc(name: str) -> bytes:
    """A documented reply, byte for byte."""
    return (DATA / name).read_bytes()


def error(code: int, msg: str) -> bytes:
    """Binance's documented error payload with another code and message of errors.md."""
    return orjson.dumps(
        orjson.loads(doc("binance_error_response.json")) | {"code": code, "msg": msg}
    )


def params(seen: Seen) -> dict[str, str]:
    """The request's query parameters."""
    return dict(parse_qsl(seen.query, strict_parsing=True, keep_blank_values=True))


def assert_signed(seen: Seen) -> None:
    """The query is signed last, over exactly the text before it, with the key in the header."""
    payload, _, signature = seen.query.rpartition("&signature=")
    assert signature == hmac_hashing(SECRET, payload)
    assert seen.headers["x-mbx-apikey"] == API_KEY
    assert params(seen)["timestamp"] == str(int(NOW * 1000))
    assert params(seen)["recvWindow"] == "5000"


def path(seen: Seen) -> str:
    """The request's path, without its query."""
    return seen.path.partition("?")[0]


def spot(local: LocalHttp, timeout: float = 10.0) -> BinanceRest:
    """A spot client of the local server."""
    return BinanceRest(CREDS, local.url, SPOT, account="main", timeout=timeout, clock=lambda: NOW)


def usdm(local: LocalHttp) -> BinanceRest:
    """A USD-M client of the local server."""
    return BinanceRest(CREDS, local.url, USDM, venue="binanceusdm", clock=lambda: NOW)


def test_a_limit_order_is_placed_signed(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_spot_rest_new_order_ack_response.json")))
    order_id = spot(local).place_order("BTCUSDT", "buy", "limit", "0.5", "30000.1", "kx-1")
    assert order_id == "28"
    (seen,) = local.seen
    assert (seen.method, path(seen), seen.body) == ("POST", "/api/v3/order", "")
    assert list(params(seen)) == [
        "symbol", "side", "type", "quantity", "price", "timeInForce", "newClientOrderId",
        "recvWindow", "timestamp", "signature",
    ]  # fmt: skip
    assert params(seen) | {"timestamp": "", "signature": ""} == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.5",
        "price": "30000.1", "timeInForce": "GTC", "newClientOrderId": "kx-1",
        "recvWindow": "5000", "timestamp": "", "signature": "",
    }  # fmt: skip
    assert_signed(seen)


def test_a_reduce_only_futures_market_order(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_futures_rest_new_order_response.json")))
    assert usdm(local).place_order("BTCUSDT", "sell", "market", "1", reduce_only=True) == "22542179"
    (seen,) = local.seen
    assert path(seen) == "/fapi/v1/order"
    assert "timeInForce" not in params(seen)
    assert (params(seen)["type"], params(seen)["reduceOnly"]) == ("MARKET", "true")
    with pytest.raises(ValueError, match="spot orders have no reduce-only"):
        spot(local).place_order("BTCUSDT", "sell", "market", "1", reduce_only=True)


def test_a_refused_order_is_order_rejected(local: LocalHttp) -> None:
    body = error(-2010, "Account has insufficient balance for requested action.")
    local.replies.append(Reply(400, body))
    with pytest.raises(OrderRejected) as caught:
        spot(local).place_order("BTCUSDT", "buy", "market", "1", client_order_id="kx-2")
    assert (caught.value.code, caught.value.client_order_id) == ("-2010", "kx-2")
    assert "insufficient balance" in str(caught.value)


# Messages of errors.md (and of the documented IP-ban reply).
QUEUED = error(-1003, "Too many requests queued.")
BANNED = error(-1003, orjson.loads(doc("binance_spot_wsapi_ip_ban_response.json"))["error"]["msg"])
TOO_MANY_ORDERS = error(-1015, "Too many new orders.")
TIMEOUT = error(
    -1007,
    "Timeout waiting for response from backend server. Send status unknown; "
    "execution status unknown.",
)


@pytest.mark.parametrize(
    ("reply", "kind", "retry_after"),
    [
        (Reply(429, QUEUED, {"Retry-After": "7"}), "unavailable", 7),
        (Reply(418, BANNED, {"Retry-After": "9"}), "unavailable", 9),
        (Reply(400, TOO_MANY_ORDERS), "unavailable", None),
        # "the execution status is UNKNOWN and could have been a success"
        (Reply(503, b"Service Unavailable."), "unknown", None),
        (Reply(408, TIMEOUT), "unknown", None),
    ],
)
def test_busy_and_unknown_outcomes(
    local: LocalHttp, reply: Reply, kind: str, retry_after: float | None
) -> None:
    local.replies += [reply, reply]
    with pytest.raises(ExchangeUnavailable) as caught:
        spot(local).place_order("BTCUSDT", "buy", "market", "1")
    assert isinstance(caught.value, OutcomeUnknown) == (kind == "unknown")
    assert caught.value.retry_after == retry_after
    assert "signature" not in str(caught.value)
    with pytest.raises(ExchangeUnavailable) as read:  # a read changes nothing: never unknown
        spot(local).order_by_client_id("BTCUSDT", "kx-1")
    assert not isinstance(read.value, OutcomeUnknown)


def test_a_timeout_after_sending_leaves_the_outcome_unknown(local: LocalHttp) -> None:
    hold = threading.Event()
    local.replies.append(Reply(hold=hold))
    try:
        with pytest.raises(OutcomeUnknown, match="POST /api/v3/order: TimeoutError"):
            spot(local, timeout=0.2).place_order("BTCUSDT", "buy", "market", "1")
    finally:
        hold.set()


def test_nothing_listening_is_unavailable() -> None:
    dead = LocalHttp()
    dead.close()  # the port is free again: the connection is refused, nothing was sent
    with pytest.raises(ExchangeUnavailable) as caught:
        spot(dead).place_order("BTCUSDT", "buy", "market", "1")
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_refused_key_is_rejected_without_the_key(local: LocalHttp) -> None:
    local.replies.append(
        Reply(401, error(-2015, "Invalid API-key, IP, or permissions for action."))
    )
    with pytest.raises(
        RequestRejected, match="refused the request: -2015 Invalid API-key"
    ) as caught:
        spot(local).key_permissions()
    assert API_KEY not in str(caught.value)
    assert SECRET not in str(caught.value)


def test_cancel_by_client_order_id_or_order_id(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_spot_rest_cancel_order_response.json")))
    local.replies.append(Reply(body=doc("binance_futures_rest_cancel_order_response.json")))
    local.replies.append(Reply(400, doc("binance_error_response.json")))
    spot(local).cancel_order("LTCBTC", client_order_id="myOrder1")
    usdm(local).cancel_order("BTCUSDT", order_id="283194212")
    with pytest.raises(OrderRejected, match=r"-1121 Invalid symbol\.") as caught:
        spot(local).cancel_order("NOSUCH", client_order_id="kx-3")
    assert caught.value.client_order_id == "kx-3"
    spot_cancel, usdm_cancel, _ = local.seen
    assert (spot_cancel.method, path(spot_cancel)) == ("DELETE", "/api/v3/order")
    assert params(spot_cancel)["origClientOrderId"] == "myOrder1"
    assert (usdm_cancel.method, path(usdm_cancel)) == ("DELETE", "/fapi/v1/order")
    assert params(usdm_cancel)["orderId"] == "283194212"
    assert_signed(spot_cancel)
    with pytest.raises(ValueError, match="order_id or client_order_id"):
        spot(local).cancel_order("LTCBTC")


def test_order_by_client_id_reads_spot_and_futures_orders(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_spot_rest_query_order_response.json")))
    local.replies.append(Reply(body=doc("binance_futures_rest_query_order_response.json")))
    assert spot(local).order_by_client_id("LTCBTC", "myOrder1") == OrderUpdate(
        venue="binance",
        account="main",
        market="LTCBTC",
        order_id="1",
        client_order_id="myOrder1",
        side="buy",
        order_type="limit",
        state="live",
        size=Decimal("1.0"),
        filled=Decimal("0.0"),
        price=Decimal("0.1"),
        at=datetime(2017, 7, 12, 2, 41, 59, 559_000, tzinfo=UTC),
    )
    futures = usdm(local).order_by_client_id("BTCUSDT", "abc")
    assert futures is not None
    assert (futures.venue, futures.order_id, futures.state, futures.price, futures.avg_price) == (
        "binanceusdm",
        "1917641",
        "live",
        None,  # "0": a trailing stop has no price
        None,  # "0.00000": nothing filled
    )
    assert [(s.method, path(s), params(s)["origClientOrderId"]) for s in local.seen] == [
        ("GET", "/api/v3/order", "myOrder1"),
        ("GET", "/fapi/v1/order", "abc"),
    ]


def test_an_order_binance_does_not_know_is_none(local: LocalHttp) -> None:
    local.replies.append(Reply(400, error(-2013, "Order does not exist.")))
    assert spot(local).order_by_client_id("BTCUSDT", "kx-404") is None


def test_fills_of_spot_and_futures(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_spot_rest_my_trades_response.json")))
    local.replies.append(Reply(body=doc("binance_futures_rest_user_trades_response.json")))
    since = datetime.fromtimestamp(NOW - 3600, UTC)
    assert spot(local).fills_since(since, "BNBBTC") == [
        Fill(
            venue="binance",
            account="main",
            market="BNBBTC",
            side="buy",
            price=Decimal("4.00000100"),
            size=Decimal("12.00000000"),
            fee=Decimal("-10.10000000"),
            fee_ccy="BNB",
            trade_id="28457",
            order_id="100234",
            liquidity="taker",
            at=datetime(2017, 7, 12, 13, 19, 9, 590_000, tzinfo=UTC),
        )
    ]
    (fill,) = usdm(local).fills_since(since, "BTCUSDT")
    assert (fill.side, fill.price, fill.size, fill.fee, fill.trade_id) == (
        "sell",
        Decimal("7819.01"),
        Decimal("0.002"),
        Decimal("0.07819010"),  # the doc's commission is negative: a rebate, on our sign
        "698759",
    )
    spot_query, futures_query = (params(s) for s in local.seen)
    assert spot_query["startTime"] == str(int((NOW - 3600) * 1000))
    assert spot_query["endTime"] == str(int(NOW * 1000))
    assert (spot_query["limit"], futures_query["symbol"]) == ("1000", "BTCUSDT")


def test_fills_walk_the_time_windows_up_to_now(local: LocalHttp) -> None:
    local.default = Reply(body=b"[]")
    since = datetime.fromtimestamp(NOW - 50 * 3600, UTC)  # three 24-hour windows
    assert spot(local).fills_since(since, "BTCUSDT") == []
    windows = [(int(params(s)["startTime"]), int(params(s)["endTime"])) for s in local.seen]
    start, day = int((NOW - 50 * 3600) * 1000), 24 * 3600 * 1000
    assert windows == [
        (start, start + day - 1),
        (start + day, start + 2 * day - 1),
        (start + 2 * day, int(NOW * 1000)),
    ]
    # No market named: spot asks the symbols with an open order (none here), then nothing.
    local.seen.clear()
    assert spot(local).fills_since(since) == []
    (asked,) = local.seen
    assert (asked.method, asked.path.partition("?")[0]) == ("GET", "/api/v3/openOrders")
    assert set(params(asked)) == {"timestamp", "recvWindow", "signature"}


def test_a_full_page_of_fills_continues_by_trade_id(local: LocalHttp) -> None:
    trade = orjson.loads(doc("binance_spot_rest_my_trades_response.json"))[0]
    first = [trade | {"id": 1000 + i, "time": int(NOW * 1000) - 5000 + i} for i in range(1000)]
    second = [trade | {"id": 2000, "time": int(NOW * 1000) - 100}]
    local.replies += [Reply(body=orjson.dumps(first)), Reply(body=orjson.dumps(second))]
    fills = spot(local).fills_since(datetime.fromtimestamp(NOW - 60, UTC), "BNBBTC")
    assert [f.trade_id for f in fills] == [str(1000 + i) for i in range(1000)] + ["2000"]
    assert "startTime" not in params(local.seen[1])
    assert params(local.seen[1])["fromId"] == "2000"


def test_key_permissions(local: LocalHttp) -> None:
    documented = orjson.loads(doc("binance_rest_api_restrictions_response.json"))
    local.replies.append(Reply(body=orjson.dumps(documented)))
    allowed = documented | {"enableWithdrawals": True, "enableFutures": True}
    local.replies.append(Reply(body=orjson.dumps(allowed)))
    assert spot(local).key_permissions() == frozenset({"read"})
    assert usdm(local).key_permissions() == frozenset({"read", "trade", "withdraw"})
    assert {path(s) for s in local.seen} == {"/sapi/v1/account/apiRestrictions"}
    for seen in local.seen:
        assert_signed(seen)


def test_listen_keys_are_asked_with_the_api_key_only(local: LocalHttp) -> None:
    local.replies.append(Reply(body=doc("binance_spot_rest_listenKey_create_response.json")))
    local.replies.append(Reply(body=doc("binance_spot_rest_listenKey_keepalive_response.json")))
    local.replies.append(Reply(body=doc("binance_futures_listenKey_create_response.json")))
    local.replies.append(Reply(400, error(-1125, "This listenKey does not exist.")))
    rest = spot(local)
    key = rest.create_listen_key()
    assert key == "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"
    assert rest.keepalive_listen_key(key) is True
    assert usdm(local).create_listen_key() == key
    assert usdm(local).keepalive_listen_key(key) is False  # expired: the stream gets a new one
    assert [(s.method, path(s), s.query) for s in local.seen] == [
        ("POST", "/api/v3/userDataStream", ""),
        ("PUT", "/api/v3/userDataStream", f"listenKey={key}"),
        ("POST", "/fapi/v1/listenKey", ""),
        ("PUT", "/fapi/v1/listenKey", ""),
    ]
    assert all(s.headers["x-mbx-apikey"] == API_KEY for s in local.seen)
