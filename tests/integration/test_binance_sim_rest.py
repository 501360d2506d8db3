"""The Binance simulator's REST driven by the official SDK (binance-connector: its Spot client,
and its generic signed API for USD-M's paths) and by the watcher's BinanceRest: orders by
newClientOrderId, refusals in Binance's codes, trade lists, listen keys; replies shaped as the
documented ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from binance.api import API
from binance.error import ClientError

from simulator import Simulator
from tests.integration.binance_sim import KEY, SECRET, config, control, fixture, rest, spot
from watcher.errors import OrderRejected

pytestmark = pytest.mark.timeout(30)
# Documented keys the simulator does not send: trailing-stop fields of the USD-M samples (the
# simulator takes LIMIT and MARKET only).
TRAILING = {"activatePrice", "priceRate"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """Binance spot and USD-M, each on its own port."""
    with Simulator(config("binance"), config("binanceusdm")) as running:
        yield running


def usdm(sim: Simulator) -> API:
    """binance-connector's signed API on the USD-M port (its Spot client knows spot paths only)."""
    return API(KEY, SECRET, base_url=sim.endpoint("binanceusdm").base_url)


def refused(call: Any, *args: Any, **kwargs: Any) -> tuple[int, int, str]:
    """Calls and returns (HTTP status, Binance code, message) of the ClientError it raises."""
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return info.value.status_code, info.value.error_code, info.value.error_message


def test_spot_order_placed_queried_and_canceled_by_client_order_id(sim: Simulator) -> None:
    client = spot(sim)
    placed = client.new_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
        quantity="0.01", price="59000.5", newClientOrderId="it-rest-1",
    )  # fmt: skip
    assert (placed["status"], placed["clientOrderId"], placed["fills"]) == ("NEW", "it-rest-1", [])
    found = client.get_order(symbol="BTCUSDT", origClientOrderId="it-rest-1")
    assert set(found) == set(fixture("binance_spot_rest_query_order_response.json"))
    assert (found["orderId"], found["price"], found["origQty"]) == (
        placed["orderId"], "59000.5", "0.01",
    )  # fmt: skip
    canceled = client.cancel_order(
        symbol="BTCUSDT", origClientOrderId="it-rest-1", newClientOrderId="it-cancel-1"
    )
    assert set(canceled) == set(fixture("binance_spot_rest_cancel_order_response.json"))
    assert (canceled["status"], canceled["origClientOrderId"], canceled["clientOrderId"]) == (
        "CANCELED", "it-rest-1", "it-cancel-1",
    )  # fmt: skip
    assert client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])["status"] == "CANCELED"
    assert refused(client.cancel_order, symbol="BTCUSDT", orderId=placed["orderId"]) == (
        400, -2011, "Unknown order sent.",
    )  # fmt: skip
    assert refused(client.get_order, symbol="BTCUSDT", origClientOrderId="never-placed") == (
        400, -2013, "Order does not exist.",
    )  # fmt: skip


def test_spot_market_order_fills_and_lists_its_trade(sim: Simulator) -> None:
    client = spot(sim)
    ack = client.new_order(
        symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.02", newOrderRespType="ACK"
    )
    assert set(ack) == set(fixture("binance_spot_rest_new_order_ack_response.json"))
    full = client.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity="0.01")
    assert full["status"] == "FILLED"
    assert [(f["price"], f["qty"], f["commissionAsset"]) for f in full["fills"]] == [
        ("60000", "0.01", "USDT")
    ]
    trades = client.my_trades(symbol="BTCUSDT")
    assert [set(t) for t in trades] == [
        set(fixture("binance_spot_rest_my_trades_response.json")[0])
    ] * 2
    assert [(t["orderId"], t["isBuyer"], t["qty"]) for t in trades] == [
        (ack["orderId"], True, "0.02"), (full["orderId"], False, "0.01"),
    ]  # fmt: skip
    assert Decimal(trades[0]["commission"]) == Decimal("0.02") * 60000 * Decimal("0.001")
    assert client.my_trades(symbol="BTCUSDT", fromId=trades[1]["id"]) == trades[1:]
    assert client.my_trades(symbol="ETHUSDT") == []
    now = trades[1]["time"]
    assert refused(
        client.my_trades, symbol="BTCUSDT", startTime=now - 25 * 3600_000, endTime=now
    ) == (400, -1127, "More than 24 hours between startTime and endTime.")


def test_a_client_order_id_is_refused_while_an_order_holding_it_rests(sim: Simulator) -> None:
    client = spot(sim)
    order = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.01", "price": "61000", "newClientOrderId": "it-dup-1"}  # fmt: skip
    first = client.new_order(**order)
    assert refused(client.new_order, **order) == (400, -2010, "Duplicate order sent.")
    client.cancel_order(symbol="BTCUSDT", orderId=first["orderId"])
    assert client.new_order(**order)["orderId"] != first["orderId"]  # free again once done


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "1", "price": "1",
          "reduceOnly": "true"},
         (400, -1104,
          "Not all sent parameters were read; read '8' parameter(s) but was sent '9'.")),
        ({"type": "STOP_LOSS", "quantity": "1"}, (400, -1116, "Invalid orderType.")),
        ({"type": "LIMIT", "quantity": "1", "price": "1"},
         (400, -1102,
          "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")),
        ({"type": "MARKET", "quantity": "1", "price": "1"},
         (400, -1106, "Parameter 'price' sent when not required.")),
        ({"type": "MARKET", "quantity": "1e3"},
         (400, -1100, "Illegal characters found in parameter 'quantity'; legal range is "
                      "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")),
        ({"type": "MARKET", "quantity": "1", "newClientOrderId": "has space"},
         (400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                      "'^[a-zA-Z0-9-_]{1,36}$'.")),
        ({"type": "MARKET", "quantity": "1000"},
         (400, -2010, "Account has insufficient balance for requested action.")),
    ],
)  # fmt: skip
def test_spot_refuses_a_bad_order_in_binance_words(
    sim: Simulator, order: dict[str, str], expected: tuple[int, int, str]
) -> None:
    assert refused(spot(sim).new_order, symbol="BTCUSDT", side="BUY", **order) == expected
    assert control(sim, "binance", "state")["orders"] == []


def test_usdm_orders_through_the_sdk_and_the_watcher_client(sim: Simulator) -> None:
    api, client = usdm(sim), rest(sim, "binanceusdm")
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.5", "price": "59000", "newClientOrderId": "it-um-1"}  # fmt: skip
    placed = api.sign_request("POST", "/fapi/v1/order", dict(order))
    documented = set(fixture("binance_futures_rest_new_order_response.json"))
    assert set(placed) == documented
    assert (placed["status"], placed["positionSide"], placed["reduceOnly"]) == (
        "NEW",
        "BOTH",
        False,
    )
    assert refused(api.sign_request, "POST", "/fapi/v1/order", dict(order)) == (
        400, -4116, "clientOrderId is duplicated",
    )  # fmt: skip
    found = api.sign_request(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "it-um-1"}
    )
    assert set(found) == set(fixture("binance_futures_rest_query_order_response.json")) - TRAILING
    seen = client.order_by_client_id("BTCUSDT", "it-um-1")
    assert seen is not None
    assert (seen.state, seen.price) == ("live", Decimal("59000"))
    client.cancel_order("BTCUSDT", client_order_id="it-um-1")
    assert (
        api.sign_request(
            "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
        )["status"]
        == "CANCELED"
    )
    with pytest.raises(OrderRejected) as info:
        client.place_order("BTCUSDT", "sell", "market", "0.1", reduce_only=True)
    assert (info.value.code, info.value.message) == ("-2022", "ReduceOnly Order is rejected.")
    with pytest.raises(OrderRejected) as info:
        client.place_order("BTCUSDT", "sell", "STOP_MARKET", "0.1")
    assert info.value.code == "-4120"
    bought = client.place_order("BTCUSDT", "buy", "market", "0.3", client_order_id="it-um-2")
    fills = client.fills_since(datetime.now(UTC) - timedelta(minutes=5), "BTCUSDT")
    assert [(f.order_id, f.size, f.price, f.side) for f in fills] == [
        (bought, Decimal("0.3"), Decimal("60000"), "buy"),
    ]  # fmt: skip
    rows = api.sign_request("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert [set(row) for row in rows] == [
        set(fixture("binance_futures_rest_user_trades_response.json")[0])
    ]
    assert refused(
        api.sign_request, "GET", "/fapi/v1/userTrades",
        {"symbol": "BTCUSDT", "fromId": rows[0]["id"], "startTime": rows[0]["time"]},
    ) == (400, -1128, "Combination of optional parameters invalid.")  # fmt: skip
    # Each product's own state: the spot venue saw none of it.
    assert control(sim, "binance", "state")["fills"] == 0


def test_listen_keys_over_the_sdk_and_the_watcher_client(sim: Simulator) -> None:
    client = spot(sim)
    key = client.new_listen_key()["listenKey"]
    assert set(client.new_listen_key()) == set(
        fixture("binance_spot_rest_listenKey_create_response.json")
    )
    assert client.new_listen_key()["listenKey"] == key  # the active key, extended
    assert len(key) == 64
    assert key.isalnum()
    assert client.renew_listen_key(key) == fixture(
        "binance_spot_rest_listenKey_keepalive_response.json"
    )
    assert refused(client.renew_listen_key, "not-" + key[4:]) == (
        400, -1125, "This listenKey does not exist.",
    )  # fmt: skip
    assert client.close_listen_key(key) == {}
    assert refused(client.renew_listen_key, key)[1] == -1125
    assert client.new_listen_key()["listenKey"] != key  # a closed key is never handed out again
    futures = rest(sim, "binanceusdm")
    usdm_key = futures.create_listen_key()
    assert futures.keepalive_listen_key(usdm_key) is True
    futures.close_listen_key(usdm_key)
    assert futures.keepalive_listen_key(usdm_key) is False  # -1125, which it reads as expired


def test_the_lists_that_name_no_symbol_and_the_markets_the_watcher_reads_in_them(
    sim: Simulator,
) -> None:
    # Spot's open orders, of every symbol (the watcher's only spot list naming its symbols).
    client, since = spot(sim), datetime.now(UTC) - timedelta(minutes=5)
    placed = client.new_order(
        symbol="ETHUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.1",
        price="2000",
    )  # fmt: skip
    client.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity="0.01")
    (row,) = client.get_open_orders()
    assert set(row) == set(fixture("binance_spot_rest_query_order_response.json"))
    assert (row["symbol"], row["orderId"]) == ("ETHUSDT", placed["orderId"])
    assert client.get_open_orders(symbol="BTCUSDT") == []
    assert rest(sim).traded_markets(since) == {"ETHUSDT"}
    # USD-M's income history: a COMMISSION row a fill, with its symbol, none for another one.
    api, futures = usdm(sim), rest(sim, "binanceusdm")
    futures.place_order("ETHUSDT", "buy", "market", "0.5")
    bought = futures.place_order("BTCUSDT", "buy", "market", "0.1")
    rows = api.sign_request("GET", "/fapi/v1/income", {"incomeType": "COMMISSION"})
    assert [set(r) for r in rows] == [
        set(fixture("binance_futures_rest_income_response.json")[1])
    ] * 2
    assert [(r["symbol"], r["income"], r["asset"]) for r in rows] == [
        ("ETHUSDT", "-1.5", "USDT"), ("BTCUSDT", "-6", "USDT"),  # 0.1% taker fee
    ]  # fmt: skip
    assert api.sign_request("GET", "/fapi/v1/income", {"symbol": "ETHUSDT", "limit": 1}) == rows[:1]
    assert futures.traded_markets(since) == {"ETHUSDT", "BTCUSDT"}
    # Oldest first; two fills of one millisecond in either order (Binance's trade ids are
    # per symbol: nothing orders them across symbols).
    fills = futures.fills_since(since)
    assert [f.at for f in fills] == sorted(f.at for f in fills)
    assert sorted((f.market, f.order_id == bought) for f in fills) == [
        ("BTCUSDT", True), ("ETHUSDT", False),
    ]  # fmt: skip
    assert futures.traded_markets(datetime.now(UTC) + timedelta(minutes=1)) == set()
