"""Every documented Bybit frame parses to the right events, to nothing, or is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from tests.documented import Documented
from tests.documented import utc as at
from watcher.errors import UnknownMessage
from watcher.events import (
    AccountUpdate,
    Balance,
    Event,
    FeedStatus,
    Fill,
    OrderUpdate,
    PositionUpdate,
    TickRow,
    ticker_from_row,
)
from watcher.venues.bybit import Bybit, BybitCredentials, TickerBook
from watcher.venues.bybit.wire import BybitTicker

ACCOUNT = "main"
API_KEY = "9rFT6uR4uz9Imkw4Wx"  # the key echoed in the documented auth failure
BYBIT = Documented("bybit")
frame, doc = BYBIT.frame, BYBIT.doc


@pytest.fixture
def bybit() -> Bybit:
    """The venue with an account label and a key, as the watcher builds it."""
    return Bybit(ACCOUNT, BybitCredentials(api_key=API_KEY, secret_key="not-used-here"))


TICK_CASES: list[tuple[str, str, list[TickRow]]] = [
    (
        "bybit_ws_tickers_linear_snapshot.json",
        "linear",
        [
            ("linear:BTCUSDT", "last", "66666.60", "66666.60", "66666.70", 1760325052630),
            ("linear:BTCUSDT", "mark", "66666.60", "", "", 1760325052630),
            ("linear:BTCUSDT", "index", "115418.19", "", "", 1760325052630),
        ],
    ),
    (
        "bybit_ws_tickers_linear_futures_snapshot.json",
        "linear",
        [
            ("linear:BTC-26DEC25", "last", "109401.50", "111254.50", "131001.00", 1760409119857),
            ("linear:BTC-26DEC25", "mark", "121144.63", "", "", 1760409119857),
            ("linear:BTC-26DEC25", "index", "114132.51", "", "", 1760409119857),
        ],
    ),
    (
        "bybit_ws_tickers_spot_snapshot.json",
        "spot",  # spot tickers carry no bid, ask or mark; usdIndexPrice is not the pair's index
        [("spot:BTCUSDT", "last", "21109.77", "", "", 1673853746003)],
    ),
    (
        "bybit_ws_tickers_option_snapshot.json",
        "option",  # bidPrice "0": nobody bids
        [
            ("option:BTC-6JAN23-17500-C", "last", "10", "", "10", 1672917511074),
            ("option:BTC-6JAN23-17500-C", "mark", "7.86976724", "", "", 1672917511074),
            ("option:BTC-6JAN23-17500-C", "index", "16823.73", "", "", 1672917511074),
        ],
    ),
]


@pytest.mark.parametrize(("name", "category", "rows"), TICK_CASES)
def test_ticker_frames_become_lean_rows(name: str, category: str, rows: list[TickRow]) -> None:
    parsed = TickerBook(category, f"public-{category}").parse(frame(name))
    assert parsed.ticks == rows
    assert parsed.events == []


@pytest.mark.parametrize(("name", "category", "rows"), TICK_CASES)
def test_lean_rows_agree_with_the_wire_model(name: str, category: str, rows: list[TickRow]) -> None:
    push = doc(name)
    reference = BybitTicker.model_validate(push["data"]).to_events("bybit", category, push["ts"])
    assert [ticker_from_row("bybit", row) for row in rows] == reference


EVENT_CASES: list[tuple[str, list[Event]]] = [
    (
        "bybit_ws_order_push.json",
        [
            OrderUpdate(
                venue="bybit",
                account=ACCOUNT,
                market="option:ETH-30DEC22-1400-C",
                order_id="5cf98598-39a7-459e-97bf-76ca765ee020",
                side="sell",
                order_type="market",
                state="filled",
                size=Decimal("1"),
                filled=Decimal("1"),
                price=Decimal("72.5"),
                avg_price=Decimal("75"),
                at=at(2022, 12, 30, 1, 37, 42, 457),  # updatedTime
            )
        ],
    ),
    (
        "bybit_ws_execution_push.json",
        [
            Fill(
                venue="bybit",
                account=ACCOUNT,
                market="linear:BTCUSDT",
                side="sell",
                price=Decimal("95900.1"),
                size=Decimal("0.5"),
                fee=Decimal("-26.3725275"),  # execFee 26.3725275 charged: klaxon's sign
                fee_ccy="USDT",
                trade_id="0ab1bdf7-4219-438b-b30a-32ec863018f7",
                order_id="9aac161b-8ed6-450d-9cab-c5cc67c21784",
                liquidity="taker",
                at=at(2025, 5, 3, 11, 6, 40, 353),  # execTime
            )
        ],
    ),
    (
        "bybit_ws_position_push.json",
        [
            PositionUpdate(
                venue="bybit",
                account=ACCOUNT,
                market="linear:BTCUSDT",
                side="short",  # empty (side ""), the sell leg of hedge mode (positionIdx 2)
                size=Decimal("0"),
                avg_price=None,  # entryPrice "0"
                mark_price=Decimal("28184.5"),
                liquidation_price=None,  # liqPrice "0"
                unrealized_pnl=Decimal("0"),
                at=at(2023, 10, 19, 2, 25, 17, 38),  # updatedTime
            )
        ],
    ),
    (
        "bybit_ws_wallet_push.json",
        [
            AccountUpdate(
                venue="bybit",
                account=ACCOUNT,
                total_equity=Decimal("10262.91335023"),
                margin_ratio=None,  # totalMaintenanceMargin "0": no margin in use
                balances=(
                    Balance(
                        ccy="BTC",
                        equity=Decimal("0.00102964"),
                        available=Decimal("0.00102964"),
                        cash=Decimal("0.00102964"),
                    ),
                ),
                at=at(2023, 11, 15, 7, 52, 2, 104),  # the push's creationTime
            )
        ],
    ),
]


@pytest.mark.parametrize(("name", "events"), EVENT_CASES)
def test_private_frames_become_events(bybit: Bybit, name: str, events: list[Event]) -> None:
    parsed = bybit.parse(frame(name))
    assert parsed.ticks == []
    assert parsed.events == events
    for event in parsed.events:
        assert event.at.utcoffset() == timedelta(0)


def test_money_keeps_the_exchange_digits(bybit: Bybit) -> None:
    (fill,) = bybit.parse(frame("bybit_ws_execution_push.json")).events
    assert isinstance(fill, Fill)
    assert (str(fill.price), str(fill.fee)) == ("95900.1", "-26.3725275")
    (account,) = bybit.parse(frame("bybit_ws_wallet_push.json")).events
    assert isinstance(account, AccountUpdate)
    assert str(account.total_equity) == "10262.91335023"


def test_categorised_topics_parse_like_all_in_one(bybit: Bybit) -> None:
    push = doc("bybit_ws_order_push.json")
    push["topic"] = "order.option"
    assert bybit.parse(orjson.dumps(push)) == bybit.parse(frame("bybit_ws_order_push.json"))


def test_funding_is_no_fill(bybit: Bybit) -> None:
    # The execution topic also reports funding payments: execType Funding (docs' enum).
    push = doc("bybit_ws_execution_push.json")
    push["data"][0]["execType"] = "Funding"
    assert bybit.parse(orjson.dumps(push)) == ([], [])


def test_wallet_margin_ratio_is_margin_balance_over_maintenance(bybit: Bybit) -> None:
    push = doc("bybit_ws_wallet_push.json")
    push["data"][0]["totalMaintenanceMargin"] = "4842.23148582"  # half the margin balance
    (account,) = bybit.parse(orjson.dumps(push)).events
    assert isinstance(account, AccountUpdate)
    assert account.margin_ratio == Decimal("9684.46297164") / Decimal("4842.23148582") == 2


def test_conditional_orders_are_algo_and_rejections_carry_the_reason(bybit: Bybit) -> None:
    push = doc("bybit_ws_order_push.json")
    push["data"][0].update(stopOrderType="StopLoss", orderStatus="Rejected", rejectReason="EC_X")
    (order,) = bybit.parse(orjson.dumps(push)).events
    assert isinstance(order, OrderUpdate)
    assert (order.algo, order.state, order.order_type, order.code) == (
        True,
        "rejected",
        "conditional",
        "EC_X",
    )


STATUS_CASES: list[tuple[str, str, str]] = [
    ("bybit_ws_auth_success.json", "logged_in", ""),
    ("bybit_ws_auth_failure_ccxt.json", "login_failed", "error:USVC1111"),
]


@pytest.mark.parametrize(("name", "status", "detail"), STATUS_CASES)
def test_auth_replies_become_feed_status(bybit: Bybit, name: str, status: str, detail: str) -> None:
    before = datetime.now(UTC)
    (event,) = bybit.parse(frame(name)).events
    assert isinstance(event, FeedStatus)
    assert (event.venue, event.feed, event.status, event.detail) == (
        "bybit",
        "private",
        status,
        detail,
    )
    assert before <= event.at <= datetime.now(UTC)


SILENT_CASES = [
    "bybit_ws_subscribe_ack_private.json",
    "bybit_ws_subscribe_ack_public_spot.json",
    "bybit_ws_subscribe_ack_public_linear.json",
    "bybit_ws_subscribe_ack_public_option.json",
    "bybit_ws_pong_private.json",
    "bybit_ws_pong_public_spot.json",
    "bybit_ws_pong_public_linear.json",
    "bybit_ws_pong_public_option.json",
]


@pytest.mark.parametrize("name", SILENT_CASES)
def test_acks_and_pongs_parse_to_nothing(bybit: Bybit, name: str) -> None:
    assert bybit.parse(frame(name)) == ([], [])
    for category in ("spot", "linear", "option"):
        assert TickerBook(category, "public").parse(frame(name)) == ([], [])


def test_refused_subscriptions_are_feed_errors(bybit: Bybit) -> None:
    refused = doc("bybit_ws_subscribe_ack_public_linear.json")
    refused.update(success=False, ret_msg="error:handler not found")
    (event,) = TickerBook("linear", "public-linear").parse(orjson.dumps(refused)).events
    assert isinstance(event, FeedStatus)
    assert (event.feed, event.status) == ("public-linear", "error")
    assert "handler not found" in event.detail
    option = doc("bybit_ws_subscribe_ack_public_option.json")
    option["data"]["failTopics"] = ["tickers.NOPE"]
    (event,) = TickerBook("option", "public-option").parse(orjson.dumps(option)).events
    assert isinstance(event, FeedStatus)
    assert event.status == "error"
    assert "tickers.NOPE" in event.detail


# Frames klaxon never receives: requests it sends (checked by their builders in
# test_bybit_auth/test_bybit_subscribe) and replies of WS order entry, which it does not use.
NOT_RECEIVED = [
    "bybit_ws_auth_request.json",
    "bybit_ws_subscribe_request.json",
    "bybit_ws_trade_auth_response.json",
    "bybit_ws_trade_order_create_response.json",
    "bybit_rest_create_order_response.json",
]


@pytest.mark.parametrize("name", NOT_RECEIVED)
def test_frames_klaxon_never_asks_for_are_unknown(bybit: Bybit, name: str) -> None:
    with pytest.raises(UnknownMessage):
        bybit.parse(frame(name))
    with pytest.raises(UnknownMessage):
        TickerBook("linear", "public-linear").parse(frame(name))


def _private_with(name: str, field: str, value: object) -> bytes:
    changed = doc(name)
    changed["data"][0][field] = value
    return orjson.dumps(changed)


def _private_without(name: str, field: str) -> bytes:
    broken = doc(name)
    del broken["data"][0][field]
    return orjson.dumps(broken)


# JSON nested as deep as orjson reads: str() or repr() of it overflows the recursion limit.
DEEP = b"[" * 1_000 + b'"x"' + b"]" * 1_000

WALLET = doc("bybit_ws_wallet_push.json")
WALLET["data"][0].update(totalMarginBalance="1e999999", totalMaintenanceMargin="1e-999999")
WALLET_OVERFLOW = orjson.dumps(WALLET)  # margin over maintenance: past Decimal's exponent

PRIVATE_UNKNOWN: list[tuple[str, bytes | str, str]] = [
    ("bad JSON", b'{"topic": "order"', "not JSON"),
    ("JSON array", b"[]", "not a JSON object"),
    ("text", "hello", "not JSON"),
    ("not UTF-8", frame("bybit_ws_order_push.json").replace(b"Sell", b"\xff\xfe", 1), "not JSON"),
    ("unknown topic", b'{"topic":"greeks","creationTime":1,"data":[]}', "greeks"),
    ("ticker on the private stream", frame("bybit_ws_tickers_spot_snapshot.json"), "tickers"),
    ("unknown category", b'{"topic":"order.futures","data":[]}', "order.futures"),
    ("data not a list", b'{"topic":"order","data":{}}', "data list"),
    ("order without orderId", _private_without("bybit_ws_order_push.json", "orderId"), "orderId"),
    ("order side", _private_with("bybit_ws_order_push.json", "side", "Short"), "side"),
    ("fill price junk", _private_with("bybit_ws_execution_push.json", "execPrice", "x"), "exec"),
    ("fill time", _private_with("bybit_ws_execution_push.json", "execTime", "soon"), "execTime"),
    ("position size", _private_with("bybit_ws_position_push.json", "size", "many"), "size"),
    ("wallet time", b'{"topic":"wallet","creationTime":"x","data":[]}', "wallet"),
    ("unknown reply", b'{"op":"mystery","success":false}', "reply"),
    ("a deep topic", b'{"topic":' + DEEP + b',"data":[]}', "topic is not a string"),
    ("a wallet ratio past Decimal's range", WALLET_OVERFLOW, "Overflow"),
]


@pytest.mark.parametrize(
    ("case", "raw", "reason"), PRIVATE_UNKNOWN, ids=[c[0] for c in PRIVATE_UNKNOWN]
)
def test_private_malformed_frames_are_unknown(
    bybit: Bybit, case: str, raw: bytes | str, reason: str
) -> None:
    with pytest.raises(UnknownMessage) as caught:
        bybit.parse(raw)
    assert caught.value.venue == "bybit"
    assert reason in caught.value.reason
    assert caught.value.sample


@pytest.mark.parametrize(
    "raw",
    [
        b'{"op":' + DEEP + b',"success":false,"ret_msg":' + DEEP + b"}",
        b'{"type":"COMMAND_RESP","success":false,"data":{"failTopics":' + DEEP + b"}}",
    ],
    ids=["deep op and message", "deep failed topics"],
)
def test_a_deeply_nested_reply_never_overflows(bybit: Bybit, raw: bytes) -> None:
    try:
        events = bybit.parse(raw).events
    except UnknownMessage as exc:
        events, reason = [], exc.reason
    else:
        reason = ""
    assert all("[[" not in e.model_dump_json() for e in events)
    assert "[[" not in reason
    with pytest.raises(UnknownMessage, match="topic is not a string"):
        TickerBook("linear", "public-linear").parse(b'{"topic":' + DEEP + b',"data":{}}')


def test_unknown_samples_never_show_the_api_key(bybit: Bybit) -> None:
    echoed = doc("bybit_ws_auth_failure_ccxt.json")
    echoed["success"] = "maybe"  # no verdict: refused as unknown, and sampled
    with pytest.raises(UnknownMessage) as caught:
        bybit.parse(orjson.dumps(echoed))
    assert API_KEY not in str(caught.value)
    assert "***" in caught.value.sample
    (event,) = bybit.parse(frame("bybit_ws_auth_failure_ccxt.json")).events
    assert API_KEY not in event.model_dump_json()
