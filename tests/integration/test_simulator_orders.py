"""The simulator's order reads, fills paging, refusals and account config, driven by python-okx."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from okx import Account, Trade

from simulator import Simulator
from tests.integration.sim_client import (
    KEY,
    PASSPHRASE,
    SECRET,
    UID,
    Frame,
    _config,
    _control,
    _fixture,
    _state,
)

pytestmark = [
    pytest.mark.timeout(30),
    # python-okx posts its body with an argument httpx deprecates; not ours to fix.
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]


def _place(trade: Any, **params: str) -> Frame:
    body = {"instId": "BTC-USDT", "tdMode": "cash", "side": "buy", "ordType": "market"}
    return trade.place_order(**(body | params))  # type: ignore[no-any-return]


def _s_code(answer: Frame) -> tuple[str, str]:
    return answer["data"][0]["sCode"], answer["data"][0]["sMsg"]


def _keys(name: str) -> set[str]:
    return set(_fixture(name)["data"][0])


def test_order_details_by_either_id_have_the_documented_shape(sim: Simulator, trade: Any) -> None:
    placed = _place(trade, sz="0.01", clOrdId="look1")["data"][0]
    by_client = trade.get_order(instId="BTC-USDT", clOrdId="look1")
    by_id = trade.get_order(instId="BTC-USDT", ordId=placed["ordId"])
    assert by_client == by_id
    (order,) = by_client["data"]
    assert set(order) == _keys("okx_rest_get_order_response.json")
    expected = {
        "ordId": placed["ordId"], "clOrdId": "look1", "state": "filled", "accFillSz": "0.01",
        "avgPx": "60000", "fillPx": "60000", "fillSz": "0.01", "fee": "-0.6", "side": "buy",
        "instType": "SPOT", "tgtCcy": "base_ccy",
    }  # fmt: skip
    assert {k: order[k] for k in expected} == expected
    assert order["tradeId"].isdigit()

    missing = trade.get_order(instId="BTC-USDT", clOrdId="nosuch")
    assert (missing["code"], missing["msg"], missing["data"]) == (
        "51603",
        "Order does not exist.",
        [],
    )
    neither = trade.get_order(instId="BTC-USDT")
    assert neither["code"] == "51003"


def test_pending_orders_page_by_ord_id(sim: Simulator, trade: Any) -> None:
    ids = [
        _place(trade, ordType="limit", sz="0.001", px=f"{50000 + i}", clOrdId=f"p{i}")["data"][0][
            "ordId"
        ]
        for i in range(5)
    ]
    _place(trade, sz="0.001")  # filled at once: never pending
    listed = trade.get_order_list(instType="SPOT")["data"]
    assert [o["ordId"] for o in listed] == ids[::-1]  # newest first
    assert set(listed[0]) == _keys("okx_rest_orders_pending_response.json")
    assert {o["state"] for o in listed} == {"live"}
    older = trade.get_order_list(after=ids[3], limit="2")["data"]
    assert [o["ordId"] for o in older] == [ids[2], ids[1]]
    newer = trade.get_order_list(before=ids[1], limit="2")["data"]
    assert [o["ordId"] for o in newer] == [ids[3], ids[2]]  # the two just newer, newest first
    assert trade.get_order_list(instType="SWAP")["data"] == []
    assert trade.get_order_list(limit="101")["code"] == "51000"


def test_fills_page_by_bill_id_and_filter_by_time(sim: Simulator, trade: Any) -> None:
    for i in range(6):
        _place(trade, sz="0.001", clOrdId=f"f{i}")
    rows = trade.get_fills()["data"]
    assert [r["clOrdId"] for r in rows] == [f"f{i}" for i in reversed(range(6))]
    assert set(rows[0]) == _keys("okx_rest_fills_response.json")
    first = rows[-1]
    expected = {"side": "buy", "fillSz": "0.001", "fillPx": "60000", "feeRate": "-0.001",
                "subType": "1", "execType": "T", "feeCcy": "USDT", "instType": "SPOT"}  # fmt: skip
    assert {k: first[k] for k in expected} == expected
    bills = [r["billId"] for r in rows]
    assert bills == sorted(bills, key=int, reverse=True)
    assert len(set(bills)) == 6

    after = trade.get_fills(after=bills[1], limit="3")["data"]
    assert [r["billId"] for r in after] == bills[2:5]
    before = trade.get_fills(before=bills[4], limit="2")["data"]
    assert [r["billId"] for r in before] == bills[2:4]
    ts = rows[2]["ts"]
    window = trade.get_fills(begin=ts, end=ts)["data"]
    assert window
    assert {r["ts"] for r in window} == {ts}
    assert trade.get_fills(instType="SWAP")["data"] == []

    history = trade.get_fills_history(instType="")  # python-okx drops the empty parameter
    assert history["code"] == "50014"
    assert trade.get_fills_history(instType="SPOT")["data"] == rows


def test_client_order_id_is_refused_only_while_its_order_is_pending(
    sim: Simulator, trade: Any
) -> None:
    def limit(px: str) -> Frame:
        return _place(trade, ordType="limit", sz="0.01", px=px, clOrdId="dup1")

    first = limit("59000")
    assert _s_code(first) == ("0", "")
    assert _s_code(limit("59000")) == ("51016", "Client order ID already exists.")
    _control(sim, "price", {"instId": "BTC-USDT", "price": "58999"})  # the first one fills
    assert _s_code(limit("58000")) == ("0", "")  # reusable once filled
    assert _s_code(limit("58000")) == ("51016", "Client order ID already exists.")
    trade.cancel_order(instId="BTC-USDT", clOrdId="dup1")
    third = limit("57000")
    assert _s_code(third) == ("0", "")  # reusable once canceled
    latest = trade.get_order(instId="BTC-USDT", clOrdId="dup1")["data"][0]
    assert (latest["ordId"], latest["state"]) == (third["data"][0]["ordId"], "live")


def test_insufficient_balance_and_margin_get_51008_with_sub_codes(
    sim: Simulator, trade: Any
) -> None:
    cash = _place(trade, sz="2")  # 120,000 USDT on a 100,000 USDT account
    assert cash["code"] == "1"
    assert _s_code(cash) == ("51008", "Order failed. Insufficient USDT balance in account")
    assert cash["data"][0]["subCode"] == "1000"
    swap = _place(trade, instId="BTC-USDT-SWAP", tdMode="cross", sz="9")  # 5x: 108,009 USDT
    assert (*_s_code(swap), swap["data"][0]["subCode"]) == (
        "51008", "Order failed. Insufficient USDT margin in account", "1001",
    )  # fmt: skip
    assert _s_code(_place(trade, instId="BTC-USDT-SWAP", tdMode="cross", sz="8"))[0] == "0"
    # About 3,500 USDT are left. A resting order holds its part: the same again no longer fits.
    resting = _place(trade, ordType="limit", sz="0.05", px="55000")
    assert _s_code(resting)[0] == "0"
    assert _s_code(_place(trade, ordType="limit", sz="0.05", px="55000"))[0] == "51008"
    assert _state(sim)["fills"] == 1


def test_reduce_only_refuses_rather_than_shrinks(sim: Simulator, trade: Any) -> None:
    def swap(side: str, sz: str, **more: str) -> Frame:
        return _place(trade, instId="BTC-USDT-SWAP", tdMode="cross", side=side, sz=sz, **more)

    assert _s_code(swap("sell", "1", reduceOnly="true"))[0] == "51169"
    assert _s_code(swap("buy", "2"))[0] == "0"  # long 2
    assert _s_code(swap("buy", "1", reduceOnly="true"))[0] == "51170"
    assert _s_code(swap("sell", "3", reduceOnly="true")) == (
        "51112", "Close order size exceeds available size for this position.",
    )  # fmt: skip
    ahead = swap("sell", "1.5", ordType="limit", px="61000", reduceOnly="true")
    assert _s_code(ahead)[0] == "0"
    # 1 more at a worse price: behind the resting 1.5, together over the position of 2.
    assert _s_code(swap("sell", "1", ordType="limit", px="61500", reduceOnly="true"))[0] == "51112"
    assert _s_code(swap("sell", "0.5", ordType="limit", px="61500", reduceOnly="true"))[0] == "0"
    assert _state(sim)["positions"]["BTC-USDT-SWAP"]["pos"] == "2"

    assert _s_code(swap("sell", "1"))[0] == "0"  # not reduce-only: the position is now 1
    _control(sim, "price", {"instId": "BTC-USDT-SWAP", "price": "61000"})
    clipped = trade.get_order(instId="BTC-USDT-SWAP", ordId=ahead["data"][0]["ordId"])["data"][0]
    assert (clipped["state"], clipped["accFillSz"]) == ("canceled", "1")
    assert _state(sim)["positions"]["BTC-USDT-SWAP"]["pos"] == "0"  # reduced, never flipped
    rows = trade.get_fills(instId="BTC-USDT-SWAP")["data"]
    assert [(r["side"], r["fillSz"], r["subType"]) for r in rows] == [
        ("sell", "1", "5"), ("sell", "1", "5"), ("buy", "2", "3"),
    ]  # fmt: skip
    assert Decimal(rows[0]["fillMarkPx"]) == Decimal("61000")


@pytest.mark.parametrize("perm", ["read_only,trade", "read_only,withdraw,trade", "read_only"])
def test_account_config_reports_the_configured_permissions(perm: str) -> None:
    with Simulator(_config(perm=perm)) as sim:
        api = Account.AccountAPI(
            KEY, SECRET, PASSPHRASE, flag="1", domain=sim.base_url, debug=False
        )
        try:
            answer = api.get_account_config()
        finally:
            api.close()
    (config,) = answer["data"]
    assert set(config) == _keys("okx_rest_account_config_response.json")
    assert (config["perm"], config["uid"], config["posMode"]) == (perm, UID, "net_mode")


def test_a_read_only_key_cannot_trade() -> None:
    with Simulator(_config(perm="read_only")) as sim:
        api = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=sim.base_url, debug=False)
        try:
            answer = _place(api, sz="0.01")
            reads = api.get_order_list()
        finally:
            api.close()
        assert _state(sim)["fills"] == 0
    assert (answer["code"], answer["data"]) == ("50120", [])
    assert reads["code"] == "0"
