"""The Bybit simulator's REST API, driven by klaxon's Bybit client and by pybit (the official SDK,
pointed at the simulator by its base URL alone); replies compared with the documented ones."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from simulator import Simulator
from tests.documented import Documented
from tests.integration.bybit_client import (
    CREDS,
    KEY,
    SECRET,
    bybit_config,
    unlike,
)
from tests.integration.sim_client import _control, _http, _state
from watcher.errors import (
    ExchangeUnavailable,
    OrderRejected,
    OutcomeUnknown,
    RequestRejected,
)
from watcher.venues.bybit import BybitCredentials, BybitRest

pytestmark = pytest.mark.timeout(30)
BYBIT = Documented("bybit")


@pytest.fixture
def client(bybit_sim: Simulator) -> BybitRest:
    """klaxon's client for account "main" on the simulator."""
    return BybitRest(CREDS, bybit_sim.base_url, account="main", timeout=5)


@pytest.fixture
def sdk(bybit_sim: Simulator) -> Iterator[Any]:
    """pybit's HTTP session, its base URL set to the simulator's."""
    session = HTTP(api_key=KEY, api_secret=SECRET, max_retries=1)
    session.endpoint = bybit_sim.base_url  # what pybit builds from testnet/demo/domain/tld
    yield session
    session.client.close()


def documented(name: str) -> Any:
    return BYBIT.doc(name)


def test_order_entry_and_lookups_agree_with_pybit_and_the_docs(client: BybitRest, sdk: Any) -> None:
    placed = sdk.place_order(
        category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit", qty="0.01",
        price="59000.5", orderLinkId="klx-rest-1",
    )  # fmt: skip
    assert unlike(placed, documented("bybit_rest_create_order_response.json")) == []
    order_id = placed["result"]["orderId"]
    live = client.order_by_client_id("linear:BTCUSDT", "klx-rest-1")
    assert live is not None
    assert (live.order_id, live.state, live.price, live.size, live.account) == (
        order_id, "live", Decimal("59000.5"), Decimal("0.01"), "main"
    )  # fmt: skip
    listed = sdk.get_open_orders(category="linear", symbol="BTCUSDT")
    assert unlike(listed, documented("bybit_rest_open_orders_response.json")) == []
    assert [o["orderId"] for o in listed["result"]["list"]] == [order_id]
    client.cancel_order("linear:BTCUSDT", client_order_id="klx-rest-1")
    gone = client.order_by_client_id("linear:BTCUSDT", "klx-rest-1")
    assert gone is not None
    assert (gone.state, gone.filled) == ("canceled", Decimal(0))
    assert sdk.get_open_orders(category="linear", symbol="BTCUSDT")["result"]["list"] == []
    closed = sdk.get_open_orders(category="linear", symbol="BTCUSDT", openOnly=1)
    assert [o["orderStatus"] for o in closed["result"]["list"]] == ["Cancelled"]
    with pytest.raises(OrderRejected) as refused:
        client.cancel_order("linear:BTCUSDT", order_id=order_id)
    assert (refused.value.code, refused.value.message) == ("110010", "The order has been cancelled")
    with pytest.raises(OrderRejected) as refused:
        client.cancel_order("linear:BTCUSDT", order_id="1")
    assert refused.value.code == "110001"
    assert client.order_by_client_id("linear:BTCUSDT", "never-placed") is None


def test_pybit_places_and_cancels(bybit_sim: Simulator, sdk: Any) -> None:
    placed = sdk.place_order(
        category="linear", symbol="ETHUSDT", side="Sell", orderType="Limit", qty="0.5",
        price="3100", orderLinkId="sdk-1",
    )["result"]  # fmt: skip
    (resting,) = _state(bybit_sim)["orders"]
    assert (resting["ordId"], resting["clOrdId"], resting["side"], resting["px"]) == (
        placed["orderId"], "sdk-1", "sell", "3100"
    )  # fmt: skip
    canceled = sdk.cancel_order(category="linear", symbol="ETHUSDT", orderLinkId="sdk-1")
    assert unlike(canceled, documented("bybit_rest_cancel_order_response.json")) == []
    assert canceled["result"] == placed
    assert _state(bybit_sim)["orders"] == []


@pytest.mark.parametrize(
    ("market", "code", "message"),
    [
        ("linear:BTCUSDT", "110072", "OrderLinkedID is duplicate"),
        ("spot:BTCUSDT", "170141", "Duplicate clientOrderId"),
    ],
)
def test_an_order_link_id_is_never_used_twice(
    client: BybitRest, sdk: Any, market: str, code: str, message: str
) -> None:
    # The first order filled at once: its id is still taken (Bybit: "always unique").
    client.place_order(market, "buy", "market", "0.01", client_order_id="once")
    with pytest.raises(OrderRejected) as refused:
        client.place_order(market, "buy", "limit", "0.01", "1000", client_order_id="once")
    assert (refused.value.code, refused.value.message) == (code, message)
    assert refused.value.client_order_id == "once"
    category, _, symbol = market.partition(":")
    with pytest.raises(InvalidRequestError) as sdk_refused:
        sdk.place_order(
            category=category, symbol=symbol, side="Buy", orderType="Limit", qty="0.01",
            price="1000", orderLinkId="once",
        )  # fmt: skip
    assert str(sdk_refused.value.status_code) == code


def test_executions_page_by_cursor_newest_first(client: BybitRest, sdk: Any) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    ids = [client.place_order("linear:BTCUSDT", "buy", "market", "0.001") for _ in range(5)]
    spot = client.place_order("spot:BTCUSDT", "buy", "market", "0.002")
    first = sdk.get_executions(category="linear", limit=2)
    assert unlike(first, documented("bybit_rest_execution_list_response.json")) == []
    pages, cursor = [first["result"]["list"]], first["result"]["nextPageCursor"]
    while cursor:
        result = sdk.get_executions(category="linear", limit=2, cursor=cursor)["result"]
        pages.append(result["list"])
        cursor = result["nextPageCursor"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [row["orderId"] for p in pages for row in p] == ids[::-1]
    # klaxon's own cursor paging, and fills_since over every category, oldest first, each once.
    rows = client.pages("/v5/execution/list", {"category": "linear", "limit": 2}, "linear")
    assert [row["orderId"] for row in rows] == ids[::-1]
    fills = client.fills_since(start)
    assert [f.order_id for f in fills] == [*ids, spot]
    assert [f.market for f in fills] == ["linear:BTCUSDT"] * 5 + ["spot:BTCUSDT"]
    assert fills[-1].size == Decimal("0.002")  # marketUnit baseCoin: the size is in BTC
    assert client.fills_since(datetime.now(UTC) + timedelta(seconds=5)) == []


def test_a_spot_market_buy_is_sized_in_the_quote_coin_unless_told(
    bybit_sim: Simulator, sdk: Any
) -> None:
    sdk.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Market", qty="600")
    sdk.place_order(
        category="spot", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.5",
        marketUnit="baseCoin",
    )  # fmt: skip
    rows = sdk.get_executions(category="spot")["result"]["list"]
    assert [(r["orderQty"], r["execQty"]) for r in rows] == [("0.5", "0.5"), ("600", "0.01")]
    assert _state(bybit_sim)["positions"]["spot:BTCUSDT"]["pos"] == "0.51"


@pytest.mark.parametrize(
    ("perm", "granted"),
    [
        ("read_only", {"read"}),
        ("read_only,trade", {"read", "trade"}),
        ("read_only,trade,withdraw", {"read", "trade", "withdraw"}),
    ],
)
def test_key_permissions_follow_the_simulators_key(perm: str, granted: set[str]) -> None:
    with Simulator(bybit_config(perm=perm)) as sim:
        client = BybitRest(CREDS, sim.base_url, account="main", timeout=5)
        assert client.key_permissions() == granted
        session = HTTP(api_key=KEY, api_secret=SECRET)
        session.endpoint = sim.base_url
        info = session.get_api_key_information()
        session.client.close()
        assert unlike(info, documented("bybit_rest_query_api_response.json")) == []
        assert info["result"]["readOnly"] == (0 if "trade" in perm else 1)
        status, body = _http(f"{sim.base_url}/v5/user/query-api")  # unsigned
        assert (status, body["retCode"]) == (200, 10003)
        if "trade" not in perm:
            with pytest.raises(OrderRejected) as refused:
                client.place_order("linear:BTCUSDT", "buy", "market", "0.01")
            assert refused.value.code == "10005"


def test_requests_not_signed_right_are_refused_in_bybits_words(bybit_sim: Simulator) -> None:
    url = bybit_sim.base_url
    wrong_secret = BybitRest(BybitCredentials(api_key=KEY, secret_key="nope"), url, timeout=5)
    with pytest.raises(RequestRejected) as refused:
        wrong_secret.key_permissions()
    assert (refused.value.code, refused.value.message) == (
        "10004", "Error sign, please check your signature generation algorithm."
    )  # fmt: skip
    with pytest.raises(OrderRejected) as rejected:
        wrong_secret.place_order("linear:BTCUSDT", "buy", "market", "0.01", client_order_id="s1")
    assert rejected.value.code == "10004"
    wrong_key = BybitRest(BybitCredentials(api_key="nope", secret_key=SECRET), url, timeout=5)
    with pytest.raises(RequestRejected) as refused:
        wrong_key.key_permissions()
    assert refused.value.code == "10003"
    # Six seconds behind: outside the default 5 s receive window (10002: ask again later).
    late = BybitRest(CREDS, url, timeout=5, clock=lambda: time.time() - 6)
    with pytest.raises(ExchangeUnavailable, match="10002"):
        late.key_permissions()
    assert _state(bybit_sim)["orders"] == []
    assert _state(bybit_sim)["fills"] == 0


def test_injected_faults_answer_bybits_server_error(
    bybit_sim: Simulator, client: BybitRest
) -> None:
    _control(bybit_sim, "fail", {"mode": "5xx", "count": 1, "path": "/v5/order/create"})
    with pytest.raises(OutcomeUnknown, match="HTTP 503"):
        client.place_order("linear:BTCUSDT", "buy", "market", "0.01", client_order_id="f1")
    _control(bybit_sim, "fail", {"mode": "5xx", "count": 1, "execute": True})
    with pytest.raises(OutcomeUnknown):
        client.place_order("linear:BTCUSDT", "buy", "market", "0.01", client_order_id="f2")
    executed = client.order_by_client_id("linear:BTCUSDT", "f2")
    assert executed is not None
    assert executed.state == "filled"  # it happened after all
    assert client.order_by_client_id("linear:BTCUSDT", "f1") is None
    _control(bybit_sim, "fail", {"mode": "5xx", "count": 1, "status": 500})
    status, body = _http(f"{bybit_sim.base_url}/v5/market/time")
    assert (status, body["retCode"], body["retMsg"]) == (500, 10016, "Server error.")
    _control(bybit_sim, "fail", {"mode": "5xx", "count": 1, "path": "/v5/user/query-api"})
    with pytest.raises(ExchangeUnavailable, match="HTTP 503"):
        client.key_permissions()


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"category": "linear", "symbol": "NOPEUSDT"}, 10001, "params error: symbol invalid"),
        ({"category": "spot", "symbol": "NOPEUSDT"}, 170121, "Invalid symbol."),
        ({"side": "Short"}, 10001, "params error: side invalid"),
        ({"qty": "-1"}, 10001, "params error: qty invalid"),
        ({"orderType": "Limit"}, 10001, "params error: price invalid"),
        ({"orderLinkId": "x" * 37}, 10001, "params error: orderLinkId invalid"),
        ({"positionIdx": 1}, 10001, "position idx not match position mode"),
        ({"triggerPrice": "61000"}, 10001, "params error: triggerPrice is not simulated"),
    ],
)
def test_bad_orders_are_refused_naming_the_parameter(
    bybit_sim: Simulator, sdk: Any, body: dict[str, Any], code: int, message: str
) -> None:
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
             "qty": "0.01"} | body  # fmt: skip
    with pytest.raises(InvalidRequestError) as refused:
        sdk.place_order(**order)
    assert (refused.value.status_code, refused.value.message) == (code, message)
    assert _state(bybit_sim)["fills"] == 0
