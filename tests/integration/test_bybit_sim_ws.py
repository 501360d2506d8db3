"""The Bybit simulator's WebSocket streams, read by klaxon's own Bybit parsers and compared key for
key (and type for type) with the documented frames in tests/data/bybit/."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from simulator import Simulator
from tests.documented import Documented
from tests.integration.bybit_client import (
    CREDS,
    auth_frame,
    bybit_account,
    connect,
    logged_in,
    recv,
    recv_raw,
    recv_until,
    unlike,
)
from tests.integration.sim_client import _control
from watcher.events import AccountUpdate, FeedStatus, Fill, OrderUpdate, PositionUpdate
from watcher.venues import Parsed
from watcher.venues.bybit import Bybit, TickerBook

pytestmark = pytest.mark.timeout(30)
BYBIT = Documented("bybit")
NOTHING = Parsed([], [])


def unlike_doc(raw: str, name: str) -> list[str]:
    """Where a frame's shape differs from the documented frame `name`."""
    return unlike(json.loads(raw), BYBIT.doc(name))


def test_linear_tickers_open_with_a_snapshot_then_send_only_what_changed(
    bybit_sim: Simulator,
) -> None:
    book = TickerBook("linear", "public-linear")
    ws = connect(bybit_sim.endpoint().ws_url("public-linear"))
    try:
        ws.send(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        ack = recv_raw(ws)
        assert unlike_doc(ack, "bybit_ws_subscribe_ack_public_linear.json") == []
        assert book.parse(ack) == NOTHING
        raw = recv_raw(ws)
        snapshot = json.loads(raw)
        assert unlike(snapshot, BYBIT.doc("bybit_ws_tickers_linear_snapshot.json")) == []
        ticks = book.parse(raw).ticks
        assert [row[:5] for row in ticks] == [
            ("linear:BTCUSDT", "last", "60000", "59999.9", "60000.1"),
            ("linear:BTCUSDT", "mark", "60000", "", ""),
            ("linear:BTCUSDT", "index", "60000", "", ""),
        ]
        _control(bybit_sim, "price", {"market": "linear:BTCUSDT", "price": "60100.5"})
        raw = recv_raw(ws)
        delta = json.loads(raw)
        assert (delta["type"], delta["cs"] > snapshot["cs"]) == ("delta", True)
        assert set(delta["data"]) == {
            "symbol", "tickDirection", "price24hPcnt", "lastPrice", "highPrice24h", "markPrice",
            "indexPrice", "bid1Price", "ask1Price",
        }  # fmt: skip
        assert (delta["data"]["lastPrice"], delta["data"]["tickDirection"]) == (
            "60100.5",
            "PlusTick",
        )
        assert [row[:5] for row in book.parse(raw).ticks] == [
            ("linear:BTCUSDT", "last", "60100.5", "60100.4", "60100.6"),
            ("linear:BTCUSDT", "mark", "60100.5", "", ""),
            ("linear:BTCUSDT", "index", "60100.5", "", ""),
        ]
        # Down again but above the 24 h low: the high and the low stay out of the delta.
        _control(bybit_sim, "price", {"market": "linear:BTCUSDT", "price": "60050"})
        delta = json.loads(raw := recv_raw(ws))
        assert "highPrice24h" not in delta["data"]
        assert "lowPrice24h" not in delta["data"]
        assert delta["data"]["tickDirection"] == "MinusTick"
        assert [row[2] for row in book.parse(raw).ticks] == ["60050"] * 3
        assert book.prices("BTCUSDT") == ("60050", "60049.9", "60050.1", "60050", "60050")
    finally:
        ws.close()


def test_spot_tickers_are_snapshots_and_a_request_holds_ten_args_at_most(
    bybit_sim: Simulator,
) -> None:
    book = TickerBook("spot", "public-spot")
    ws = connect(bybit_sim.endpoint().ws_url("public-spot"))
    try:
        ws.send(json.dumps({"req_id": "10001", "op": "subscribe", "args": ["tickers.BTCUSDT"]}))
        ack = json.loads(recv_raw(ws))
        assert unlike(ack, BYBIT.doc("bybit_ws_subscribe_ack_public_spot.json")) == []
        assert (ack["ret_msg"], ack["req_id"]) == ("subscribe", "10001")
        raw = recv_raw(ws)
        assert unlike_doc(raw, "bybit_ws_tickers_spot_snapshot.json") == []
        assert [row[:5] for row in book.parse(raw).ticks] == [
            ("spot:BTCUSDT", "last", "60000", "", "")
        ]
        _control(bybit_sim, "price", {"market": "spot:BTCUSDT", "price": "59000.01"})
        pushed = json.loads(recv_raw(ws))
        assert (pushed["type"], pushed["data"]["lastPrice"]) == ("snapshot", "59000.01")
        assert len(pushed["data"]) == 9  # every field, every time
        # Eleven args, a linear symbol, an unknown topic: each refused whole, the stream lives.
        for args in (
            ["tickers.BTCUSDT"] * 11,
            ["tickers.ETHUSDT"],
            ["orderbook.1.BTCUSDT"],
        ):
            ws.send(json.dumps({"op": "subscribe", "args": args}))
            refused = json.loads(raw := recv_raw(ws))
            assert (refused["success"], refused["ret_msg"]) == (False, "Params Error")
            (status,) = book.parse(raw).events
            assert isinstance(status, FeedStatus)
            assert status.status == "error"
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("feed", "fixture"),
    [
        ("public-spot", "bybit_ws_pong_public_spot.json"),
        ("public-linear", "bybit_ws_pong_public_linear.json"),
        ("private", "bybit_ws_pong_private.json"),
    ],
)
def test_each_stream_answers_ping_in_its_documented_shape(
    bybit_sim: Simulator, feed: str, fixture: str
) -> None:
    ws = connect(bybit_sim.endpoint().ws_url(feed))
    try:
        documented = BYBIT.doc(fixture)
        request = {"op": "ping"} | ({"req_id": "test"} if "req_id" in documented else {})
        ws.send(json.dumps(request))
        raw = recv_raw(ws)
        assert unlike(json.loads(raw), documented) == []
        parse = (
            Bybit("main", CREDS).parse if feed == "private" else TickerBook("linear", feed).parse
        )
        assert parse(raw) == NOTHING
    finally:
        ws.close()


def test_private_auth_is_checked_and_read_by_klaxon(bybit_sim: Simulator) -> None:
    venue = Bybit("main", CREDS)
    ws = connect(bybit_sim.endpoint().ws_url("private"))
    try:
        ws.send(json.dumps({"op": "subscribe", "args": ["order"]}))
        refused = json.loads(raw := recv_raw(ws))
        assert (refused["success"], refused["ret_msg"]) == (False, "Request not authorized")
        assert [e.status for e in venue.parse(raw).events if isinstance(e, FeedStatus)] == ["error"]
        for frame, said in (
            (auth_frame(secret="not-the-secret"), "Request not authorized"),
            (auth_frame(key="not-the-key"), "Request not authorized"),
            (auth_frame(expires_in_ms=-1_000), "Params Error"),
        ):
            ws.send(frame)
            reply = json.loads(raw := recv_raw(ws))
            assert (reply["op"], reply["success"], reply["ret_msg"]) == ("auth", False, said)
            (status,) = venue.parse(raw).events
            assert isinstance(status, FeedStatus)
            assert (status.status, status.detail) == ("login_failed", said)
        ws.send(auth_frame())
        raw = recv_raw(ws)
        assert unlike_doc(raw, "bybit_ws_auth_success.json") == []
        (status,) = venue.parse(raw).events
        assert isinstance(status, FeedStatus)
        assert status.status == "logged_in"
        ws.send(venue.private_subscriptions()[0])
        raw = recv_raw(ws)
        assert unlike_doc(raw, "bybit_ws_subscribe_ack_private.json") == []
        assert venue.parse(raw) == NOTHING
    finally:
        ws.close()


def test_a_fill_pushes_execution_order_position_and_wallet_as_documented(
    bybit_sim: Simulator,
) -> None:
    venue = bybit_account(bybit_sim)
    ws = logged_in(bybit_sim.endpoint(), "order", "execution", "position", "wallet")
    try:
        order_id = venue.trading().place_order(
            "linear:BTCUSDT", "buy", "market", "0.01", client_order_id="klx-fill-1"
        )
        raws = {json.loads(raw)["topic"]: raw for raw in (recv_raw(ws) for _ in range(4))}
        assert sorted(raws) == ["execution", "order", "position", "wallet"]
        for topic, raw in raws.items():
            assert unlike_doc(raw, f"bybit_ws_{topic}_push.json") == []
        (fill,) = venue.parse(raws["execution"]).events
        assert isinstance(fill, Fill)
        assert (fill.market, fill.side, fill.price, fill.size) == (
            "linear:BTCUSDT", "buy", Decimal("60000"), Decimal("0.01")
        )  # fmt: skip
        assert (fill.fee, fill.fee_ccy, fill.liquidity) == (Decimal("-0.6"), "USDT", "taker")
        assert (fill.order_id, fill.client_order_id) == (order_id, "klx-fill-1")
        (order,) = venue.parse(raws["order"]).events
        assert isinstance(order, OrderUpdate)
        assert (order.order_id, order.state, order.filled, order.avg_price, order.price) == (
            order_id, "filled", Decimal("0.01"), Decimal("60000"), None
        )  # fmt: skip
        (position,) = venue.parse(raws["position"]).events
        assert isinstance(position, PositionUpdate)
        assert (position.side, position.size, position.avg_price) == (
            "long", Decimal("0.01"), Decimal("60000")
        )  # fmt: skip
        (account,) = venue.parse(raws["wallet"]).events
        assert isinstance(account, AccountUpdate)
        assert account.total_equity == Decimal("99999.4")  # 100000 less the 0.6 taker fee
        assert [(b.ccy, b.cash) for b in account.balances] == [("USDT", Decimal("99999.4"))]
    finally:
        ws.close()


def test_categorised_topics_carry_their_category_only(bybit_sim: Simulator) -> None:
    venue = bybit_account(bybit_sim)
    ws = logged_in(bybit_sim.endpoint(), "order.spot")
    try:
        # Mixing all-in-one and categorised topics in one request is refused.
        ws.send(json.dumps({"op": "subscribe", "args": ["execution", "order.linear"]}))
        assert recv(ws)["ret_msg"] == "Params Error"
        trading = venue.trading()
        trading.place_order("linear:BTCUSDT", "buy", "limit", "0.01", "59000")
        spot_id = trading.place_order("spot:BTCUSDT", "buy", "limit", "0.01", "59000")
        raw = recv_until(ws, lambda f: "topic" in f)
        assert json.loads(raw)["topic"] == "order.spot"
        (order,) = venue.parse(raw).events
        assert isinstance(order, OrderUpdate)
        assert (order.market, order.order_id, order.state) == ("spot:BTCUSDT", spot_id, "live")
    finally:
        ws.close()
