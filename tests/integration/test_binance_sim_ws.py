"""The Binance simulator's WebSockets: market streams and user data shaped as the documented
frames (tests/data/binance) and read by the watcher's own Binance parser; listen key expiry,
server pings and the connection age limit, compressed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websocket

from simulator import Simulator
from tests.integration.binance_sim import (
    close_code,
    config,
    connect,
    control,
    event,
    fixture,
    recv,
    recv_until,
    rest,
    spot,
    venue,
)
from watcher.events import AccountUpdate, FeedStatus, Fill, OrderUpdate, PositionUpdate

pytestmark = pytest.mark.timeout(30)
Frame = dict[str, Any]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(config("binance"), config("binanceusdm")) as running:
        yield running


def keys(frame: Frame) -> set[str]:
    return set(frame)


def test_spot_market_streams_match_the_documented_payloads(sim: Simulator) -> None:
    parser = venue(sim, "binance")
    ws = connect(sim, "binance", "/stream?streams=btcusdt@ticker/btcusdt@bookTicker")
    try:
        first = {recv(ws)["stream"]: None for _ in range(2)}  # each stream's current state
        assert set(first) == {"btcusdt@ticker", "btcusdt@bookTicker"}
        control(sim, "binance", "price", {"market": "BTCUSDT", "price": "60123.4"})
        pushed = {f["stream"]: f for f in (recv(ws), recv(ws))}
    finally:
        ws.close()
    ticker, book = pushed["btcusdt@ticker"], pushed["btcusdt@bookTicker"]
    assert keys(ticker["data"]) == keys(fixture("binance_spot_ws_24hrTicker_push.json"))
    assert keys(book["data"]) == keys(fixture("binance_spot_ws_bookTicker_push.json"))
    (row,) = parser.parse(json.dumps(ticker)).ticks
    assert row[:5] == ("BTCUSDT", "last", "60123.4", "60123.3", "60123.5")
    assert [r[:3] for r in parser.parse(json.dumps(book)).ticks] == [
        ("BTCUSDT", "bid", "60123.3"), ("BTCUSDT", "ask", "60123.5"),
    ]  # fmt: skip
    raw = connect(sim, "binance", "/ws/ethusdt@ticker")  # a raw stream: the payload alone
    try:
        assert recv(raw)["e"] == "24hrTicker"
    finally:
        raw.close()


def test_usdm_market_streams_match_the_documented_payloads(sim: Simulator) -> None:
    parser = venue(sim, "binanceusdm")
    streams = ["btcusdt@ticker", "btcusdt@bookTicker", "btcusdt@markPrice@1s"]
    ws = connect(sim, "binanceusdm", "/stream?streams=" + "/".join(streams))
    try:
        pushed = {f["stream"]: f for f in (recv(ws) for _ in streams)}
    finally:
        ws.close()
    documented = [
        "binance_futures_ws_24hrTicker_push.json",
        "binance_futures_ws_bookTicker_push.json",
        "binance_futures_ws_markPriceUpdate_push.json",
    ]
    for stream, name in zip(streams, documented, strict=True):
        assert keys(pushed[stream]["data"]) == keys(fixture(name)), stream
    mark = parser.parse(json.dumps(pushed["btcusdt@markPrice@1s"])).ticks
    # markPriceUpdate carries the index price too (`i`): a row of its own source.
    assert [r[:3] for r in mark] == [("BTCUSDT", "mark", "60000"), ("BTCUSDT", "index", "60000")]


def test_streams_can_be_subscribed_live_and_bad_ones_are_refused(sim: Simulator) -> None:
    ws = connect(sim, "binance", "/stream?streams=btcusdt@ticker")
    try:
        recv(ws)
        request = fixture("binance_spot_ws_subscribe_request.json") | {
            "params": ["ethusdt@bookTicker"]
        }
        ws.send(json.dumps(request))
        assert recv(ws) == fixture("binance_spot_ws_subscribe_response.json")
        ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        assert recv(ws) == {"result": ["btcusdt@ticker", "ethusdt@bookTicker"], "id": 3}
        control(sim, "binance", "price", {"market": "ETHUSDT", "price": "3001.5"})
        assert recv(ws)["data"]["b"] == "3001.49"
        ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["dogeusdt@ticker"], "id": 4}))
        assert recv(ws)["code"] == 2
        ws.send("{nope")
        assert recv(ws)["code"] == 3
    finally:
        ws.close()
    for path in ("/stream?streams=btcusdt@depth", "/stream?streams=BTCUSDT@ticker", "/stream"):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            connect(sim, "binance", path)
        assert info.value.status_code == 400, path
    with pytest.raises(websocket.WebSocketBadStatusException):  # markPrice is USD-M's
        connect(sim, "binance", "/ws/btcusdt@markPrice")


def test_spot_user_data_renders_orders_fills_and_balances(sim: Simulator) -> None:
    client, parser = spot(sim), venue(sim, "binance")
    ws = connect(sim, "binance", "/ws/" + client.new_listen_key()["listenKey"])
    try:
        client.new_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
                         quantity="0.05", price="59900", newClientOrderId="ud-1")  # fmt: skip
        new = recv_until(ws, event("executionReport"))
        control(sim, "binance", "price", {"market": "BTCUSDT", "price": "59850"})
        trade = recv_until(ws, event("executionReport"))
        balances = recv_until(ws, event("outboundAccountPosition"))
    finally:
        ws.close()
    documented = fixture("binance_spot_uds_executionReport.json")["event"]
    # "v" (prevented match id) is sent only for orders that self-trade prevention expired.
    assert keys(new) == keys(trade) == keys(documented) - {"v"}
    assert keys(balances) == keys(fixture("binance_spot_uds_outboundAccountPosition.json")["event"])
    (order,) = parser.parse(json.dumps(new)).events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.client_order_id, order.price) == ("live", "ud-1", Decimal("59900"))
    update, fill = parser.parse(json.dumps(trade)).events
    assert isinstance(update, OrderUpdate)
    assert isinstance(fill, Fill)
    assert (update.state, fill.price, fill.size, fill.liquidity) == (
        "filled", Decimal("59900"), Decimal("0.05"), "maker",
    )  # fmt: skip
    assert fill.fee == -(Decimal("59900") * Decimal("0.05") * Decimal("0.0008"))
    (account,) = parser.parse(json.dumps(balances)).events
    assert isinstance(account, AccountUpdate)
    assert [b.ccy for b in account.balances] == ["BTC", "USDT"]
    assert account.balances[0].cash == Decimal("0.05")


def test_usdm_user_data_renders_trade_lite_order_updates_and_account(sim: Simulator) -> None:
    futures, parser = rest(sim, "binanceusdm"), venue(sim, "binanceusdm")
    ws = connect(sim, "binanceusdm", "/ws/" + futures.create_listen_key())
    try:
        futures.place_order("BTCUSDT", "sell", "market", "0.2", client_order_id="um-ud-1")
        lite = recv(ws)
        update = recv(ws)
        account = recv(ws)
    finally:
        ws.close()
    assert (lite["e"], update["e"], account["e"]) == (
        "TRADE_LITE",
        "ORDER_TRADE_UPDATE",
        "ACCOUNT_UPDATE",
    )
    assert keys(lite) == keys(fixture("binance_futures_uds_TRADE_LITE.json"))
    documented = fixture("binance_futures_uds_ORDER_TRADE_UPDATE.json")
    assert keys(update) == keys(documented)
    # AP and cr (activation price, callback rate) belong to trailing stops alone.
    assert keys(update["o"]) == keys(documented["o"]) - {"AP", "cr"}
    documented_account = fixture("binance_futures_uds_ACCOUNT_UPDATE.json")
    assert keys(account["a"]["B"][0]) == keys(documented_account["a"]["B"][0])
    assert keys(account["a"]["P"][0]) == keys(documented_account["a"]["P"][0])
    (fill,) = parser.parse(json.dumps(lite)).events
    order, fill_again = parser.parse(json.dumps(update)).events
    assert isinstance(fill, Fill)
    assert isinstance(fill_again, Fill)
    assert isinstance(order, OrderUpdate)
    assert fill.trade_id == fill_again.trade_id
    assert fill.fee is None
    assert fill_again.fee is not None
    assert (order.state, fill.side, fill.size, fill.client_order_id) == (
        "filled", "sell", Decimal("0.2"), "um-ud-1",
    )  # fmt: skip
    wallet, position = parser.parse(json.dumps(account)).events
    assert isinstance(wallet, AccountUpdate)
    assert isinstance(position, PositionUpdate)
    assert (position.side, position.size, position.avg_price) == (
        "net",
        Decimal("-0.2"),
        Decimal("60000"),
    )


def test_an_expired_listen_key_says_so_and_stops_user_data(sim: Simulator) -> None:
    client, parser = spot(sim), venue(sim, "binance")
    key = client.new_listen_key()["listenKey"]
    ws = connect(sim, "binance", f"/ws/{key}")
    try:
        assert control(sim, "binance", "listen-key/expire", {}) == {"ok": True, "notified": 1}
        expired = recv(ws)
        assert keys(expired) == keys(fixture("binance_futures_uds_listenKeyExpired.json"))
        assert expired["listenKey"] == key
        (status,) = parser.parse(json.dumps(expired), feed="private").events
        assert isinstance(status, FeedStatus)
        assert (status.status, status.code) == (
            "closing",
            "listenKeyExpired",
        )
        client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
        control(sim, "binance", "inject", {"feed": "private", "raw": "marker"})
        assert ws.recv() == "marker"  # the fill went to no one: its key had expired
    finally:
        ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(sim, "binance", f"/ws/{key}")
    assert client.new_listen_key()["listenKey"] != key


def test_a_listen_key_expires_at_the_end_of_its_life() -> None:
    with Simulator(config("binance", listen_key_ttl=0.3)) as sim:
        client = spot(sim)
        key = client.new_listen_key()["listenKey"]
        ws = connect(sim, "binance", f"/ws/{key}")
        try:
            assert recv_until(ws, event("listenKeyExpired"))["listenKey"] == key
        finally:
            ws.close()
        assert rest(sim).keepalive_listen_key(key) is False


def test_the_server_pings_and_drops_a_client_that_never_answers() -> None:
    with Simulator(config("binance", ping_interval=0.1)) as sim:
        silent = connect(sim, "binance", "/stream?streams=btcusdt@ticker")
        try:
            pings = 0
            while True:  # raw frames: no pong goes back
                frame = silent.recv_frame()  # type: ignore[no-untyped-call]
                if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                pings += frame.opcode == websocket.ABNF.OPCODE_PING
        finally:
            silent.close()
        assert int.from_bytes(frame.data[:2], "big") == 1008
        assert pings >= 3  # the pong was due within 3 pings
        answering = connect(sim, "binance", "/stream?streams=btcusdt@ticker")
        try:
            pings = 0
            while pings < 8:  # websocket-client pongs every ping it reads
                opcode, _ = answering.recv_data_frame(control_frame=True)
                assert opcode != websocket.ABNF.OPCODE_CLOSE
                pings += opcode == websocket.ABNF.OPCODE_PING
            control(sim, "binance", "price", {"market": "BTCUSDT", "price": "60001"})
            assert recv_until(answering, lambda f: f["data"]["c"] == "60001")
        finally:
            answering.close()


def test_connections_end_at_their_age_limit() -> None:
    with Simulator(config("binance", max_connection_age=0.4)) as sim:
        market = connect(sim, "binance", "/stream?streams=btcusdt@bookTicker")
        user = connect(sim, "binance", "/ws/" + spot(sim).new_listen_key()["listenKey"])
        try:
            assert close_code(market) == 1001
            assert close_code(user) == 1001
        finally:
            market.close()
            user.close()
