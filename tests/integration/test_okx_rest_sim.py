"""klaxon's OKX REST client against the simulator, cross-checked with python-okx on the same one."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import pytest

from simulator import Simulator
from tests.integration.sim_client import (
    KEY,
    PASSPHRASE,
    SECRET,
    Frame,
    _config,
    _control,
    _http,
    _state,
)
from tests.waiting import wait_until
from watcher.errors import ExchangeUnavailable, OrderRejected, OutcomeUnknown, RequestRejected
from watcher.events import utc_from_ms
from watcher.venues.okx import OkxCredentials, OkxRest

pytestmark = [
    pytest.mark.timeout(30),
    # python-okx posts its body with an argument httpx deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
CREDS = OkxCredentials(api_key=KEY, secret_key=SECRET, passphrase=PASSPHRASE)
PLACE = "/api/v5/trade/order"


@pytest.fixture
def client(sim: Simulator) -> OkxRest:
    """klaxon's client for account "main" on the simulator."""
    return OkxRest(CREDS, sim.base_url, demo=True, timeout=5, account="main")


def _fail(sim: Simulator, **fault: Any) -> None:
    _control(sim, "fail", fault)


def _all_fills(trade: Any) -> list[Frame]:
    """Every fill row, newest first, paged with python-okx."""
    rows: list[Frame] = []
    while True:
        page = trade.get_fills(after=rows[-1]["billId"] if rows else "")["data"]
        rows += page
        if len(page) < 100:
            return rows


def test_order_lookup_agrees_with_python_okx(sim: Simulator, client: OkxRest, trade: Any) -> None:
    ord_id = client.place_order("BTC-USDT", "buy", "limit", "0.01", "59000.5", "look2")
    live = client.order("BTC-USDT", client_order_id="look2")
    assert live is not None
    sdk = trade.get_order(instId="BTC-USDT", clOrdId="look2")["data"][0]
    assert (live.order_id, live.state, live.price, live.account) == (
        ord_id, sdk["state"], Decimal(sdk["px"]), "main",
    )  # fmt: skip
    assert live.state == "live"

    _control(sim, "price", {"instId": "BTC-USDT", "price": "59000"})
    filled = client.order("BTC-USDT", order_id=ord_id)
    assert filled is not None
    assert (filled.state, filled.filled, filled.avg_price) == (
        "filled", Decimal("0.01"), Decimal("59000.5"),
    )  # fmt: skip
    assert client.order("BTC-USDT", client_order_id="never") is None


def test_pending_orders_across_pages(sim: Simulator, client: OkxRest, trade: Any) -> None:
    ids = [
        client.place_order("ETH-USDT", "buy", "limit", "0.01", str(2000 + i), f"pend{i}")
        for i in range(101)
    ]
    client.place_order("BTC-USDT", "sell", "limit", "0.001", "70000", "other")
    pending = client.pending_orders("ETH-USDT")
    assert [o.order_id for o in pending] == ids  # oldest first, both pages
    assert [o.client_order_id for o in pending][-1] == "pend100"
    assert {o.state for o in pending} == {"live"}
    assert len(trade.get_order_list(instId="ETH-USDT")["data"]) == 100  # one page is not all
    assert [o.client_order_id for o in client.pending_orders(inst_type="SPOT")][-1] == "other"


def test_fills_since_returns_exactly_the_fills_from_a_point_across_pages(
    client: OkxRest, trade: Any
) -> None:
    for i in range(130):
        client.place_order("BTC-USDT", "buy" if i % 2 else "sell", "market", "0.001")
    rows = _all_fills(trade)
    assert len(rows) == 130
    point = int(rows[110]["fillTime"])  # the 20th oldest fill's time
    expected = [r["tradeId"] for r in reversed(rows) if int(r["fillTime"]) >= point]
    assert len(expected) > 100  # more than one page

    fills = client.fills_since(utc_from_ms(point))
    assert [f.trade_id for f in fills] == expected
    sdk = {r["tradeId"]: r for r in rows}
    for fill in fills:
        row = sdk[fill.trade_id]
        assert (fill.price, fill.size, fill.fee, fill.side, fill.order_id) == (
            Decimal(row["fillPx"]), Decimal(row["fillSz"]), Decimal(row["fee"]), row["side"],
            row["ordId"],
        )  # fmt: skip
    assert client.fills_since(utc_from_ms(int(rows[0]["fillTime"]) + 1)) == []


def test_fills_older_than_three_days_come_through_fills_history(
    client: OkxRest, trade: Any
) -> None:
    client.place_order("BTC-USDT", "buy", "market", "0.001", client_order_id="old1")
    client.place_order("BTC-USDT-SWAP", "sell", "market", "1", td_mode="cross")
    since = utc_from_ms(int(_all_fills(trade)[-1]["fillTime"]) - 4 * 86_400_000)
    fills = client.fills_since(since)
    assert [(f.market, f.client_order_id) for f in fills] == [
        ("BTC-USDT", "old1"), ("BTC-USDT-SWAP", ""),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("perm", "expected"),
    [
        ("read_only,trade", {"read", "trade"}),
        ("read_only,withdraw,trade", {"read", "withdraw", "trade"}),
    ],
)
def test_permissions_read_the_keys_perm(perm: str, expected: set[str]) -> None:
    with Simulator(_config(perm=perm)) as sim:
        assert OkxRest(CREDS, sim.base_url).key_permissions() == expected


def test_a_read_only_key_is_refused_with_its_code() -> None:
    with Simulator(_config(perm="read_only")) as sim:
        client = OkxRest(CREDS, sim.base_url)
        with pytest.raises(OrderRejected) as caught:
            client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="ro1")
        assert client.key_permissions() == {"read"}
    assert caught.value.code == "50120"


def test_duplicate_client_id_is_rejected_only_while_pending(
    sim: Simulator, client: OkxRest
) -> None:
    first = client.place_order("BTC-USDT", "buy", "limit", "0.01", "59000", "dup2")
    with pytest.raises(OrderRejected) as caught:
        client.place_order("BTC-USDT", "buy", "limit", "0.01", "59000", "dup2")
    assert (caught.value.code, caught.value.client_order_id) == ("51016", "dup2")
    client.cancel_order("BTC-USDT", client_order_id="dup2")
    second = client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="dup2")
    assert second != first  # a new order: the first one is done
    latest = client.order("BTC-USDT", client_order_id="dup2")
    assert latest is not None
    assert (latest.order_id, latest.state) == (second, "filled")


def test_margin_rejection_is_order_rejected(sim: Simulator, client: OkxRest) -> None:
    with pytest.raises(OrderRejected) as caught:
        client.place_order("BTC-USDT", "buy", "market", Decimal("2"), client_order_id="big1")
    rejected = caught.value
    assert (rejected.code, rejected.sub_code) == ("51008", "1000")
    assert rejected.message == "Order failed. Insufficient USDT balance in account"
    for secret in (KEY, SECRET, PASSPHRASE):
        assert secret not in str(rejected)
    assert client.order("BTC-USDT", client_order_id="big1") is None
    assert _state(sim)["fills"] == 0


def test_reduce_only_close_on_a_swap(sim: Simulator, client: OkxRest) -> None:
    client.place_order("BTC-USDT-SWAP", "buy", "market", "2", td_mode="cross")
    with pytest.raises(OrderRejected) as caught:
        client.place_order("BTC-USDT-SWAP", "sell", "market", "3", None, "cl1", "cross", True)
    assert caught.value.code == "51112"
    client.place_order("BTC-USDT-SWAP", "sell", "market", "2", None, "cl2", "cross", True)
    assert _state(sim)["positions"]["BTC-USDT-SWAP"]["pos"] == "0"


def test_position_size_reads_the_net_position(sim: Simulator, client: OkxRest) -> None:
    assert client.position_size("BTC-USDT-SWAP") == 0
    client.place_order("BTC-USDT-SWAP", "buy", "market", "2")
    assert client.position_size("BTC-USDT-SWAP") == Decimal(2)
    client.place_order("BTC-USDT-SWAP", "sell", "market", "2.5")
    assert client.position_size("BTC-USDT-SWAP") == Decimal("-0.5")
    [item] = client.get("/api/v5/account/positions", {"instId": "BTC-USDT-SWAP"})
    assert (item["instType"], item["posSide"], item["pos"]) == ("SWAP", "net", "-0.5")
    assert client.get("/api/v5/account/positions", {"instType": "MARGIN"}) == []
    with pytest.raises(RequestRejected) as caught:
        client.position_size("DOGE-USDT-SWAP")
    assert caught.value.code == "51001"


def test_5xx_is_unavailable_then_the_order_goes_through_once(
    sim: Simulator, client: OkxRest, trade: Any
) -> None:
    _fail(sim, mode="5xx", count=2, path=PLACE, method="POST")
    for _ in range(2):
        with pytest.raises(ExchangeUnavailable) as caught:
            client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="once5")
        assert "HTTP 503" in str(caught.value)
        # Whether a 5xx order exists is not known: the caller asks before placing again.
        assert isinstance(caught.value, OutcomeUnknown)
        assert client.order("BTC-USDT", client_order_id="once5") is None
    client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="once5")
    assert [r["clOrdId"] for r in _all_fills(trade)] == ["once5"]


def test_a_failed_read_is_retryable_and_never_outcome_unknown(
    sim: Simulator, client: OkxRest
) -> None:
    _fail(sim, mode="5xx", count=1, status=500)
    with pytest.raises(ExchangeUnavailable) as caught:
        client.key_permissions()
    assert not isinstance(caught.value, OutcomeUnknown)
    assert client.key_permissions() == {"read", "trade"}


def test_a_timeout_is_outcome_unknown_and_the_order_is_found_by_client_id(
    sim: Simulator, trade: Any
) -> None:
    client = OkxRest(CREDS, sim.base_url, timeout=0.5)
    _fail(sim, mode="timeout", count=1, hold=2, path=PLACE, method="POST")
    with pytest.raises(OutcomeUnknown, match="timed out"):
        client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="slow1")
    found = client.order("BTC-USDT", client_order_id="slow1")
    assert found is not None  # carried out although the client saw no answer
    assert (found.state, found.filled) == ("filled", Decimal("0.01"))
    # OKX would take the same clOrdId again now that the order is filled: only the lookup
    # above keeps a retry from placing a second order.
    assert [r["clOrdId"] for r in _all_fills(trade)] == ["slow1"]


def test_a_timeout_that_was_not_carried_out_leaves_no_order(sim: Simulator, trade: Any) -> None:
    client = OkxRest(CREDS, sim.base_url, timeout=0.5)
    _fail(sim, mode="timeout", count=1, hold=1, execute=False, path=PLACE, method="POST")
    with pytest.raises(OutcomeUnknown):
        client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="slow2")
    assert client.order("BTC-USDT", client_order_id="slow2") is None
    assert _all_fills(trade) == []


def test_fault_control_validates_and_clears(sim: Simulator) -> None:
    _fail(sim, mode="5xx", count=3)
    answer = _control(sim, "fail", {"clear": True})
    assert answer["pending"] == []
    status, body = _http(f"{sim.base_url}/sim/fail", json.dumps({"mode": "slow", "count": 1}))
    assert (status, body["error"]) == (400, 'mode must be "5xx" or "timeout"')


def test_a_distant_venue_carries_a_call_out_at_once_and_answers_it_later() -> None:
    with Simulator(_config(answer_delay=3.0)) as slow:
        client = OkxRest(CREDS, slow.base_url, demo=True, timeout=10, account="main")
        placed: list[str] = []
        thread = threading.Thread(
            target=lambda: placed.append(
                client.place_order("BTC-USDT", "buy", "market", "0.01", client_order_id="far1")
            )
        )
        thread.start()
        try:
            wait_until(lambda: _history(slow), 2, "the order carried out")
            assert thread.is_alive()
            assert placed == []
        finally:
            thread.join(10)
        [order] = _history(slow)
        assert placed == [order["ordId"]]
        assert order["clOrdId"] == "far1"


def _history(sim: Simulator) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = _http(f"{sim.base_url}/sim/state")[1]["history"]
    return history
