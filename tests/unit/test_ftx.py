"""FTX (historical): documented frames parse to the right events, acks to nothing, and the login
signature follows FTX's recipe."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from pathlib import Path

import pytest

from watcher.errors import UnknownMessage
from watcher.events import FeedStatus, Fill, OrderUpdate
from watcher.venues import VENUES
from watcher.venues.ftx import Ftx, FtxCredentials, login_frame, login_sign

DATA = Path(__file__).parent.parent / "data" / "ftx"
CREDS = FtxCredentials(api_key="k3y", secret_key="s3cret", subaccount="desk")


def frame(name: str) -> str:
    return (DATA / name).read_text()


def test_the_ticker_keeps_ftx_number_texts_and_converts_float_seconds_to_ms() -> None:
    parsed = Ftx().parse_public(frame("ticker_update.json"))
    assert parsed.ticks == [("BTC-PERP", "last", "9761.0", "9760.5", "9761.0", 1589505004423)]
    assert parsed.events == []


def test_a_fill_update_is_a_fill_with_exact_amounts_and_a_charged_fee() -> None:
    (fill,) = Ftx("main").parse_private(frame("fills_update.json")).events
    assert isinstance(fill, Fill)
    assert (fill.venue, fill.account, fill.market, fill.side) == ("ftx", "main", "MARKET", "sell")
    assert (fill.price, fill.size, fill.fee, fill.fee_ccy) == (
        Decimal(32768),
        Decimal(2),
        Decimal(-16),
        "FTT",
    )
    assert (fill.trade_id, fill.order_id, fill.liquidity) == ("3456789012", "23456789012", "maker")
    assert fill.at.isoformat() == "2021-08-07T14:32:42.373010+00:00"


def test_an_orders_update_is_an_order_update() -> None:
    (order,) = Ftx("main").parse_private(frame("orders_update.json")).events
    assert isinstance(order, OrderUpdate)
    assert (order.order_id, order.client_order_id) == (
        "69350095302",
        "192ab87ae99970b79f624ef8bd783351",
    )
    assert (order.state, order.size, order.filled, order.avg_price) == (
        "canceled",  # closed with 4 of 12 filled
        Decimal(12),
        Decimal(4),
        Decimal(32768),
    )


@pytest.mark.parametrize(
    "raw", ['{"type": "pong"}', '{"type": "subscribed", "channel": "ticker", "market": "BTC-PERP"}',
            '{"type": "unsubscribed", "channel": "fills"}'],
)  # fmt: skip
def test_acks_and_pongs_parse_to_nothing(raw: str) -> None:
    assert Ftx().parse_public(raw) == ([], [])
    assert Ftx().parse_private(raw) == ([], [])


def test_errors_and_the_reconnect_info_are_feed_statuses() -> None:
    (refused,) = (
        Ftx()
        .parse_private('{"type": "error", "code": 400, "msg": "Invalid login credentials"}')
        .events
    )
    (restart,) = Ftx().parse_public('{"type": "info", "code": 20001, "msg": "restarting"}').events
    assert isinstance(refused, FeedStatus)
    assert isinstance(restart, FeedStatus)
    assert (refused.status, refused.code) == ("login_failed", "400")
    assert (restart.status, restart.code) == ("closing", "20001")


def test_a_malformed_ticker_is_an_unknown_message() -> None:
    with pytest.raises(UnknownMessage, match="ticker"):
        Ftx().parse_public(
            '{"channel": "ticker", "market": "BTC-PERP", "type": "update", '
            '"data": {"last": -1, "time": 1.0}}'
        )


def test_the_login_signature_is_ftx_recipe() -> None:
    expected = hmac.new(b"s3cret", b"1557246346499websocket_login", hashlib.sha256).hexdigest()
    assert login_sign("s3cret", 1557246346499) == expected
    sent = json.loads(login_frame(CREDS, 1557246346499))
    args = {"key": "k3y", "sign": expected, "time": 1557246346499, "subaccount": "desk"}
    assert sent == {"op": "login", "args": args}


def test_ftx_is_registered_and_its_private_feed_logs_in_first() -> None:
    assert VENUES["ftx"] is Ftx
    (public, private) = Ftx("main", CREDS, "ws://127.0.0.1:1/ws/").feeds(
        [("BTC-PERP", "last")], True
    )
    assert list(public.subscribe) == ['{"op":"subscribe","channel":"ticker","market":"BTC-PERP"}']
    login, *rest = list(private.subscribe)
    assert json.loads(login)["op"] == "login"
    assert rest == ['{"op":"subscribe","channel":"fills"}', '{"op":"subscribe","channel":"orders"}']


def test_a_market_not_spelled_as_ftx_spells_it_is_named_with_the_likely_one() -> None:
    assert Ftx.market_problem("BTC-PERP") == Ftx.market_problem("BTC/USD") == ""
    assert Ftx.market_problem("btc-perp").endswith("did you mean 'BTC-PERP'?")
    assert "not an FTX market" in Ftx.market_problem("BTCUSD")
