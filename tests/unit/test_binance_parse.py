"""Every documented Binance frame parses to the right events (or to nothing), via Binance.parse."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from watcher.events import (
    AccountUpdate,
    Balance,
    Event,
    FeedStatus,
    Fill,
    OrderUpdate,
    PositionUpdate,
    TickRow,
)
from watcher.venues.binance import Binance
from watcher.venues.binanceusdm import BinanceUsdm

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
ACCOUNT = "main"


def frame(name: str) -> bytes:
    """Return a fixture's bytes exactly as stored."""
    return (DATA / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    """Return a fixture decoded (to wrap it, or to derive a variant of a documented frame)."""
    decoded: dict[str, Any] = orjson.loads(frame(name))
    return decoded


def combined(stream: str, name: str) -> bytes:
    """A market-data payload as a combined stream delivers it: {"stream", "data"} (documented)."""
    return orjson.dumps({"stream": stream, "data": doc(name)})


def at(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int) -> datetime:
    """An aware UTC time, written out independently of the code under test."""
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)


def venue_for(name: str) -> Binance:
    """The venue whose documentation a fixture comes from."""
    return BinanceUsdm(ACCOUNT) if name.startswith("binance_futures") else Binance(ACCOUNT)


TICK_CASES: list[tuple[str, str, list[TickRow]]] = [
    (
        "bnbbtc@ticker",
        "binance_spot_ws_24hrTicker_push.json",
        [("BNBBTC", "last", "0.0025", "0.0024", "0.0026", 1672515782136)],
    ),
    (
        "btcusdt@ticker",
        "binance_futures_ws_24hrTicker_push.json",
        [("BTCUSDT", "last", "0.0025", "", "", 123456789)],
    ),
    (
        "bnbusdt@bookTicker",
        "binance_futures_ws_bookTicker_push.json",
        [
            ("BNBUSDT", "bid", "25.35190000", "25.35190000", "25.36520000", 1568014460891),
            ("BNBUSDT", "ask", "25.36520000", "25.35190000", "25.36520000", 1568014460891),
        ],
    ),
    (
        "btcusdt@markPrice@1s",
        "binance_futures_ws_markPriceUpdate_push.json",
        [
            ("BTCUSDT", "mark", "11794.15000000", "", "", 1562305380000),
            ("BTCUSDT", "index", "11784.62659091", "", "", 1562305380000),
        ],
    ),
]


@pytest.mark.parametrize(("stream", "name", "rows"), TICK_CASES)
def test_market_data_parses_to_lean_rows(stream: str, name: str, rows: list[TickRow]) -> None:
    parsed = venue_for(name).parse(combined(stream, name))
    assert parsed.ticks == rows
    assert parsed.events == []


def test_spot_book_ticker_has_no_time_so_the_receipt_time_stands_in() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    parsed = Binance(ACCOUNT).parse(
        combined("bnbusdt@bookTicker", "binance_spot_ws_bookTicker_push.json")
    )
    after = int(datetime.now(UTC).timestamp() * 1000)
    (bid, ask) = parsed.ticks
    assert bid[:5] == ("BNBUSDT", "bid", "25.35190000", "25.35190000", "25.36520000")
    assert ask[:5] == ("BNBUSDT", "ask", "25.36520000", "25.35190000", "25.36520000")
    assert before <= bid[5] == ask[5] <= after


def test_an_empty_side_of_the_book_makes_no_row_and_an_empty_bid() -> None:
    data = doc("binance_futures_ws_bookTicker_push.json") | {"b": "0.00000000"}
    parsed = BinanceUsdm().parse(orjson.dumps({"stream": "bnbusdt@bookTicker", "data": data}))
    assert parsed.ticks == [("BNBUSDT", "ask", "25.36520000", "", "25.36520000", 1568014460891)]


EXECUTION_NEW = OrderUpdate(
    venue="binance",
    account=ACCOUNT,
    market="ETHBTC",
    order_id="4293153",
    client_order_id="mUvoqJxFIILMdfAW5iGSOW",
    side="buy",
    order_type="limit",
    state="live",
    size=Decimal("1.00000000"),
    filled=Decimal("0.00000000"),
    price=Decimal("0.10264410"),
    at=at(2017, 7, 7, 5, 34, 18, 657),
)

EVENT_CASES: list[tuple[str, list[Event]]] = [
    ("binance_spot_uds_executionReport.json", [EXECUTION_NEW]),
    (
        "binance_spot_uds_outboundAccountPosition.json",
        [
            AccountUpdate(
                venue="binance",
                account=ACCOUNT,
                balances=(
                    Balance(
                        ccy="ETH", available=Decimal("10000.000000"), cash=Decimal("10000.000000")
                    ),
                ),
                at=at(2019, 7, 25, 6, 2, 51, 73),
            )
        ],
    ),
    (
        "binance_spot_wsapi_event_wrapper.json",
        [
            AccountUpdate(
                venue="binance",
                account=ACCOUNT,
                balances=(
                    Balance(ccy="BTC", available=Decimal("11818"), cash=Decimal("12000")),
                    Balance(ccy="USDT", available=Decimal("10580"), cash=Decimal("10650")),
                ),
                at=at(2024, 10, 15, 6, 2, 28, 778),
            )
        ],
    ),
    ("binance_spot_uds_balanceUpdate.json", []),  # its outboundAccountPosition follows
    ("binance_spot_uds_listStatus.json", []),  # each leg has its own executionReport
    (
        "binance_futures_uds_ORDER_TRADE_UPDATE.json",
        [
            OrderUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BTCUSDT",
                order_id="8886774",
                client_order_id="TEST",
                side="sell",
                order_type="move_order_stop",
                state="live",
                size=Decimal("0.001"),
                filled=Decimal("0"),
                at=at(2019, 9, 19, 7, 51, 5, 650),
            )
        ],
    ),
    (
        "binance_futures_uds_TRADE_LITE.json",
        [
            Fill(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BTCUSDT",
                side="buy",
                price=Decimal("64089.20"),
                size=Decimal("0.040"),
                trade_id="109100866",
                order_id="8886774",
                client_order_id="z8hcUoOsqEdKMeKPSABslD",
                liquidity="taker",
                at=at(2024, 7, 25, 8, 16, 48, 214),
            )
        ],
    ),
    (
        "binance_futures_uds_ACCOUNT_UPDATE.json",
        [
            AccountUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                balances=(
                    Balance(ccy="USDT", cash=Decimal("122624.12345678")),
                    Balance(ccy="BUSD", cash=Decimal("1.00000000")),
                ),
                at=at(2019, 8, 2, 11, 36, 38, 938),
            ),
            PositionUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BTCUSDT",
                side="net",
                size=Decimal("0"),
                unrealized_pnl=Decimal("0"),
                at=at(2019, 8, 2, 11, 36, 38, 938),
            ),
            PositionUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BTCUSDT",
                side="long",
                size=Decimal("20"),
                avg_price=Decimal("6563.66500"),
                unrealized_pnl=Decimal("2850.21200"),
                at=at(2019, 8, 2, 11, 36, 38, 938),
            ),
            PositionUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BTCUSDT",
                side="short",
                size=Decimal("-10"),
                avg_price=Decimal("6563.86000"),
                unrealized_pnl=Decimal("-1423.15600"),
                at=at(2019, 8, 2, 11, 36, 38, 938),
            ),
        ],
    ),
    (
        "binance_futures_uds_MARGIN_CALL.json",
        [
            PositionUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="ETHUSDT",
                side="long",
                size=Decimal("1.327"),
                mark_price=Decimal("187.17127"),
                unrealized_pnl=Decimal("-1.166074"),
                warning=True,
                at=at(2020, 4, 24, 11, 19, 47, 525),
            )
        ],
    ),
    (
        "binance_futures_uds_ALGO_UPDATE.json",
        [
            OrderUpdate(
                venue="binanceusdm",
                account=ACCOUNT,
                market="BNBUSDT",
                order_id="2148719",
                client_order_id="Q5xaq5EGKgXXa0fD7fs0Ip",
                side="sell",
                order_type="conditional",
                state="canceled",
                size=Decimal("0.01"),
                filled=Decimal("0.00000"),
                price=Decimal("750"),
                algo=True,
                message="Reduce Only reject",
                at=at(2025, 6, 21, 14, 22, 22, 297),
            )
        ],
    ),
    # It names no side, type or size: logged, no OrderUpdate (the ALGO_UPDATE reports the state).
    ("binance_futures_uds_CONDITIONAL_ORDER_TRIGGER_REJECT.json", []),
    ("binance_spot_ws_subscribe_response.json", []),  # {"result": null, "id": 1}
    ("binance_spot_wsapi_session_logon_response.json", []),  # a 200 reply
]


@pytest.mark.parametrize(("name", "events"), EVENT_CASES)
def test_user_data_parses_to_events(name: str, events: list[Event]) -> None:
    parsed = venue_for(name).parse(frame(name), feed="private")
    assert parsed.ticks == []
    assert parsed.events == events


def test_the_trigger_reject_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    BinanceUsdm(ACCOUNT).parse(frame("binance_futures_uds_CONDITIONAL_ORDER_TRIGGER_REJECT.json"))
    assert "conditional order 155618472834 on ETHUSDT was not triggered" in caplog.text


def test_an_execution_report_of_a_trade_also_carries_the_fill() -> None:
    # The documented report, with the fields Binance sets for an execution (x TRADE).
    trade = doc("binance_spot_uds_executionReport.json")["event"] | {
        "x": "TRADE",
        "X": "FILLED",
        "l": "1.00000000",
        "z": "1.00000000",
        "L": "0.10264400",
        "Z": "0.10264400",
        "n": "0.00075000",
        "N": "BNB",
        "t": 12345,
        "m": True,
    }
    order, fill = Binance(ACCOUNT).parse(orjson.dumps(trade), feed="private").events
    assert order == EXECUTION_NEW.model_copy(
        update={"state": "filled", "filled": Decimal("1"), "avg_price": Decimal("0.102644")}
    )
    assert fill == Fill(
        venue="binance",
        account=ACCOUNT,
        market="ETHBTC",
        side="buy",
        price=Decimal("0.10264400"),
        size=Decimal("1.00000000"),
        fee=Decimal("-0.00075000"),  # charged: negative, as on OKX
        fee_ccy="BNB",
        trade_id="12345",
        order_id="4293153",
        client_order_id="mUvoqJxFIILMdfAW5iGSOW",
        liquidity="maker",
        at=at(2017, 7, 7, 5, 34, 18, 657),
    )


def test_a_canceled_order_keeps_its_own_client_id() -> None:
    # On a cancel, c is the cancel request's id and C the order's own.
    canceled = doc("binance_spot_uds_executionReport.json")["event"] | {
        "x": "CANCELED",
        "X": "CANCELED",
        "c": "cancelMyOrder1",
        "C": "mUvoqJxFIILMdfAW5iGSOW",
    }
    (order,) = Binance(ACCOUNT).parse(orjson.dumps(canceled), feed="private").events
    assert isinstance(order, OrderUpdate)
    assert (order.client_order_id, order.state) == ("mUvoqJxFIILMdfAW5iGSOW", "canceled")


def test_an_order_trade_update_of_a_trade_also_carries_the_fill() -> None:
    update = doc("binance_futures_uds_ORDER_TRADE_UPDATE.json")
    update["o"] |= {"x": "TRADE", "X": "FILLED", "l": "0.001", "z": "0.001", "L": "7103.04"}
    update["o"] |= {"ap": "7103.04", "n": "0.00284121", "t": 4242, "m": False}
    order, fill = BinanceUsdm(ACCOUNT).parse(orjson.dumps(update), feed="private").events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.filled, order.avg_price) == (
        "filled",
        Decimal("0.001"),
        Decimal("7103.04"),
    )
    assert fill == Fill(
        venue="binanceusdm",
        account=ACCOUNT,
        market="BTCUSDT",
        side="sell",
        price=Decimal("7103.04"),
        size=Decimal("0.001"),
        fee=Decimal("-0.00284121"),
        fee_ccy="USDT",
        trade_id="4242",
        order_id="8886774",
        client_order_id="TEST",
        liquidity="taker",
        at=at(2019, 9, 19, 7, 51, 5, 650),
    )


STATUS_CASES: list[tuple[str, str, str, str]] = [
    # fixture, status, code, the start of the detail
    ("binance_spot_ws_server_shutdown.json", "closing", "serverShutdown", "the server"),
    ("binance_futures_uds_listenKeyExpired.json", "closing", "listenKeyExpired", "the listen key"),
    ("binance_spot_wsapi_failed_response.json", "error", "-2010", "HTTP 400: Account has"),
    ("binance_futures_wsapi_failed_response.json", "error", "-1102", "HTTP 400: Mandatory"),
    ("binance_spot_wsapi_ip_ban_response.json", "error", "-1003", "HTTP 418: Way too much"),
    ("binance_spot_wsapi_session_invalidated.json", "login_failed", "-2015", "HTTP 401: Invalid"),
]


@pytest.mark.parametrize(("name", "status", "code", "detail"), STATUS_CASES)
def test_feed_status_frames(name: str, status: str, code: str, detail: str) -> None:
    (event,) = venue_for(name).parse(frame(name), feed="private").events
    assert isinstance(event, FeedStatus)
    assert (event.venue, event.feed, event.status, event.code) == (
        venue_for(name).name,
        "private",
        status,
        code,
    )
    assert event.detail.startswith(detail)


def test_the_expired_listen_key_is_not_repeated() -> None:
    (event,) = BinanceUsdm().parse(frame("binance_futures_uds_listenKeyExpired.json")).events
    assert "WsCMN0a4KHUPTQuX6IUnqEZfB1inxmv1qR4kbf1LuEjur5VdbzqvyxqG9TSjVVxv" not in repr(event)


def test_a_refused_stream_request_is_an_error_status() -> None:
    # The documented error reply of the market streams (web-socket-streams.md, "Error Messages").
    raw = b'{"code": 2, "msg": "Invalid request: property name must be a string"}'
    (event,) = Binance().parse(raw).events
    assert isinstance(event, FeedStatus)
    assert (event.status, event.code) == ("error", "2")
    assert event.detail == "Invalid request: property name must be a string"


# Frames klaxon never receives: requests (the signed order.place request is checked by
# test_binance_auth; market streams are named in the URL, so no SUBSCRIBE is sent; no session is
# logged on: the user data come by listen key), and the reply of the algo-order REST endpoint,
# which klaxon does not call.
NOT_RECEIVED = {
    "binance_spot_ws_subscribe_request.json",
    "binance_spot_wsapi_order_place_signed_request.json",
    "binance_spot_wsapi_session_logon_request.json",
    "binance_futures_rest_new_algo_order_response.json",
}
# REST replies, read by BinanceRest in test_binance_rest.py.
REST_REPLIES = {
    "binance_error_response.json",
    "binance_futures_listenKey_create_response.json",
    "binance_futures_rest_cancel_order_response.json",
    "binance_futures_rest_income_response.json",
    "binance_futures_rest_new_order_response.json",
    "binance_futures_rest_query_order_response.json",
    "binance_futures_rest_user_trades_response.json",
    "binance_rest_api_restrictions_response.json",
    "binance_spot_rest_cancel_order_response.json",
    "binance_spot_rest_listenKey_create_response.json",
    "binance_spot_rest_listenKey_keepalive_response.json",
    "binance_spot_rest_my_trades_response.json",
    "binance_spot_rest_new_order_ack_response.json",
    "binance_spot_rest_query_order_response.json",
}


def test_every_binance_fixture_is_checked_and_has_a_source() -> None:
    covered = {name for _, name, _ in TICK_CASES} | {name for name, _ in EVENT_CASES}
    covered |= {case[0] for case in STATUS_CASES} | NOT_RECEIVED | REST_REPLIES
    covered |= {"binance_spot_ws_bookTicker_push.json"}  # its own test: it has no time
    fixtures = {p.name for p in DATA.glob("binance_*.json")}
    assert fixtures == covered
    sources = orjson.loads((DATA / "SOURCES.json").read_bytes())
    assert set(sources) == fixtures
    assert all(
        s["official_doc_url"].startswith("https://developers.binance.com/")
        for s in sources.values()
    )
