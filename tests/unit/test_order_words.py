"""Every venue's order words reach OrderUpdate as the canonical ones (watcher.events), whether
pushed or read over REST; every word a venue documents is mapped; an unknown word makes its
frame an UnknownMessage that names the venue and the field; the order kind accepts exactly the
canonical words; docs/rules/order.md's tables name every mapped word.

The documented word lists are written out here from the venues' pages, not read from the code
under test: Binance spot https://developers.binance.com/docs/binance-spot-api-docs/enums, USD-M
user-data-streams/Event-Order-Update and Event-Algo-Order-Update; Bybit
https://bybit-exchange.github.io/docs/v5/enum (orderStatus, orderType, stopOrderType), as
/work/shared/protocols/bybit.md lists them; FTX docs.ftx.com "Orders" channel.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from rules.order import ORDER_TYPES, STATES
from tests.documented import Documented
from watcher.errors import UnknownMessage
from watcher.events import ORDER_STATES, OrderUpdate
from watcher.events import ORDER_TYPES as CANONICAL_TYPES
from watcher.venues.binance import Binance, words
from watcher.venues.binance.wire_rest import RestOrder
from watcher.venues.binanceusdm import BinanceUsdm
from watcher.venues.bybit import Bybit, BybitCredentials
from watcher.venues.bybit import words as bybit_words
from watcher.venues.bybit.wire import BybitOrder
from watcher.venues.ftx import Ftx
from watcher.venues.okx import Okx

ACCOUNT = "main"
BINANCE, BYBIT, OKX = Documented("binance"), Documented("bybit"), Documented("okx")
FTX_ORDER = Path(__file__).parent.parent / "data" / "ftx" / "orders_update.json"
DOCS = Path(__file__).parent.parent.parent / "docs" / "rules" / "order.md"

# Binance: order status (spot enums; USD-M adds none but lists a subset), older USD-M docs'
# NEW_INSURANCE and NEW_ADL; the algo service's statuses; every order type of spot and USD-M.
BINANCE_STATES = {
    "NEW": "live",
    "PENDING_NEW": "live",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "PENDING_CANCEL": "live",
    "REJECTED": "rejected",
    "EXPIRED": "expired",
    "EXPIRED_IN_MATCH": "expired",
    "NEW_INSURANCE": "live",
    "NEW_ADL": "live",
}
BINANCE_ALGO_STATES = {
    "NEW": "live",
    "TRIGGERING": "triggered",
    "TRIGGERED": "effective",
    "CANCELED": "canceled",
    "REJECTED": "order_failed",
    "EXPIRED": "expired",
}
BINANCE_TYPES = {
    "LIMIT": "limit",
    "MARKET": "market",
    "LIMIT_MAKER": "post_only",
    "STOP_LOSS": "conditional",
    "STOP_LOSS_LIMIT": "conditional",
    "TAKE_PROFIT": "conditional",
    "TAKE_PROFIT_LIMIT": "conditional",
    "STOP": "conditional",
    "STOP_MARKET": "conditional",
    "TAKE_PROFIT_MARKET": "conditional",
    "TRAILING_STOP_MARKET": "move_order_stop",
    "LIQUIDATION": "liquidation",
}
BYBIT_STATES = {
    "New": "live",
    "PartiallyFilled": "partially_filled",
    "Untriggered": "live",
    "Rejected": "rejected",
    "PartiallyFilledCanceled": "canceled",
    "Filled": "filled",
    "Cancelled": "canceled",
    "Triggered": "effective",
    "Deactivated": "canceled",
}
BYBIT_STOP_TYPES = {
    "TakeProfit": "conditional",
    "StopLoss": "conditional",
    "TrailingStop": "move_order_stop",
    "Stop": "trigger",
    "PartialTakeProfit": "conditional",
    "PartialStopLoss": "conditional",
    "tpslOrder": "conditional",
    "OcoOrder": "oco",
    "MmRateClose": "conditional",
    "BidirectionalTpslOrder": "conditional",
}


def parsed_order(events: list[Any]) -> OrderUpdate:
    """The one OrderUpdate among a frame's events."""
    (order,) = [e for e in events if isinstance(e, OrderUpdate)]
    return order


def test_the_order_kind_accepts_exactly_the_canonical_words() -> None:
    assert STATES == ORDER_STATES
    assert ORDER_TYPES == CANONICAL_TYPES
    # OKX's words come first, in the order rules were written with (a rule's id sorts by it).
    assert ORDER_STATES[:10] == (
        "live", "partially_filled", "filled", "canceled", "mmp_canceled",
        "effective", "partially_effective", "order_failed", "partially_failed", "pause",
    )  # fmt: skip


def test_every_documented_binance_and_bybit_word_is_mapped_as_documented() -> None:
    assert dict(words.STATES) == BINANCE_STATES
    assert dict(words.ALGO_STATES) == BINANCE_ALGO_STATES
    assert dict(words.TYPES) == BINANCE_TYPES
    assert dict(bybit_words.STATES) == BYBIT_STATES
    assert dict(bybit_words.TYPES) == {"Market": "market", "Limit": "limit"}
    assert dict(bybit_words.STOP_TYPES) == BYBIT_STOP_TYPES


@pytest.mark.parametrize("status", sorted(BINANCE_STATES))
def test_a_spot_execution_report_carries_the_canonical_state(status: str) -> None:
    report = BINANCE.doc("binance_spot_uds_executionReport.json")
    report["event"]["X"] = status
    order = parsed_order(Binance(ACCOUNT).parse(orjson.dumps(report), "private").events)
    assert (order.state, order.order_type) == (BINANCE_STATES[status], "limit")


@pytest.mark.parametrize("status", sorted(BINANCE_STATES))
def test_a_usdm_order_trade_update_carries_the_canonical_state(status: str) -> None:
    update = BINANCE.doc("binance_futures_uds_ORDER_TRADE_UPDATE.json")
    update["o"]["X"] = status
    order = parsed_order(BinanceUsdm(ACCOUNT).parse(orjson.dumps(update), "private").events)
    assert (order.state, order.order_type) == (BINANCE_STATES[status], "move_order_stop")


@pytest.mark.parametrize("kind", sorted(BINANCE_TYPES))
def test_every_binance_order_type_is_canonical(kind: str) -> None:
    update = BINANCE.doc("binance_futures_uds_ORDER_TRADE_UPDATE.json")
    update["o"]["o"] = kind
    order = parsed_order(BinanceUsdm(ACCOUNT).parse(orjson.dumps(update), "private").events)
    assert order.order_type == BINANCE_TYPES[kind]


@pytest.mark.parametrize(
    ("time_in_force", "expected"),
    [("GTC", "limit"), ("GTD", "limit"), ("IOC", "ioc"), ("FOK", "fok"), ("GTX", "post_only")],
)
def test_a_binance_limit_takes_its_time_in_force_as_okx_does(
    time_in_force: str, expected: str
) -> None:
    report = BINANCE.doc("binance_spot_uds_executionReport.json")
    report["event"]["f"] = time_in_force
    order = parsed_order(Binance(ACCOUNT).parse(orjson.dumps(report), "private").events)
    assert order.order_type == expected
    market = BINANCE.doc("binance_spot_uds_executionReport.json")
    market["event"] |= {"o": "MARKET", "f": time_in_force}
    order = parsed_order(Binance(ACCOUNT).parse(orjson.dumps(market), "private").events)
    assert order.order_type == "market"  # only a limit is refined


@pytest.mark.parametrize("status", sorted(BINANCE_ALGO_STATES))
def test_an_algo_update_carries_the_canonical_state(status: str) -> None:
    update = BINANCE.doc("binance_futures_uds_ALGO_UPDATE.json")
    update["o"]["X"] = status
    (order,) = BinanceUsdm(ACCOUNT).parse(orjson.dumps(update), "private").events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.order_type, order.algo) == (
        BINANCE_ALGO_STATES[status],
        "conditional",  # TAKE_PROFIT
        True,
    )


@pytest.mark.parametrize(
    ("size", "executed", "expected"),
    [("0.01", "0.01", "filled"), ("0.01", "0.004", "canceled"), ("0.01", "0", "canceled"),
     ("0", "0.3", "filled"), ("0", "0", "canceled")],
)  # fmt: skip
def test_a_finished_algo_is_filled_only_when_its_order_filled_its_size(
    size: str, executed: str, expected: str
) -> None:
    update = BINANCE.doc("binance_futures_uds_ALGO_UPDATE.json")
    update["o"] |= {"X": "FINISHED", "q": size, "aq": executed}
    (order,) = BinanceUsdm(ACCOUNT).parse(orjson.dumps(update), "private").events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.filled) == (expected, Decimal(executed))


def test_binance_rest_orders_carry_canonical_words() -> None:
    spot = RestOrder.model_validate(BINANCE.doc("binance_spot_rest_query_order_response.json"))
    assert (spot.status, spot.type) == ("live", "limit")
    futures = BINANCE.doc("binance_futures_rest_query_order_response.json")
    order = RestOrder.model_validate(futures | {"status": "EXPIRED"}).to_event("binanceusdm", "m")
    assert (order.state, order.order_type) == ("expired", "move_order_stop")
    with pytest.raises(ValueError, match="status"):
        RestOrder.model_validate(futures | {"status": "DONE"})


@pytest.mark.parametrize(
    ("frame", "path", "field"),
    [
        ("binance_spot_uds_executionReport.json", ("event", "X"), "X"),
        ("binance_spot_uds_executionReport.json", ("event", "o"), "o"),
        ("binance_futures_uds_ORDER_TRADE_UPDATE.json", ("o", "X"), "o.X"),
        ("binance_futures_uds_ORDER_TRADE_UPDATE.json", ("o", "o"), "o.o"),
        ("binance_futures_uds_ALGO_UPDATE.json", ("o", "X"), "o.X"),
    ],
)
def test_an_unknown_binance_word_is_an_unknown_message_naming_the_field(
    frame: str, path: tuple[str, str], field: str
) -> None:
    payload = BINANCE.doc(frame)
    payload[path[0]][path[1]] = "SOMETHING_NEW"
    venue = Binance(ACCOUNT) if "spot" in frame else BinanceUsdm(ACCOUNT)
    with pytest.raises(UnknownMessage) as caught:
        venue.parse(orjson.dumps(payload), "private")
    assert caught.value.venue == venue.name
    assert f"invalid {field}" in caught.value.reason


@pytest.fixture
def bybit() -> Bybit:
    return Bybit(ACCOUNT, BybitCredentials(api_key="k", secret_key="s"))


@pytest.mark.parametrize("status", sorted(BYBIT_STATES))
def test_a_bybit_order_push_carries_the_canonical_state(bybit: Bybit, status: str) -> None:
    push = BYBIT.doc("bybit_ws_order_push.json")
    push["data"][0]["orderStatus"] = status
    (order,) = bybit.parse(orjson.dumps(push)).events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.order_type, order.algo) == (BYBIT_STATES[status], "market", False)


@pytest.mark.parametrize("stop_type", sorted(BYBIT_STOP_TYPES))
def test_a_bybit_conditional_order_takes_okx_algo_type(bybit: Bybit, stop_type: str) -> None:
    push = BYBIT.doc("bybit_ws_order_push.json")
    push["data"][0] |= {"stopOrderType": stop_type, "orderStatus": "Untriggered"}
    (order,) = bybit.parse(orjson.dumps(push)).events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.order_type, order.algo) == (
        "live",
        BYBIT_STOP_TYPES[stop_type],
        True,
    )


@pytest.mark.parametrize(
    ("order_type", "time_in_force", "expected"),
    [("Limit", "GTC", "limit"), ("Limit", "RPI", "limit"), ("Limit", "IOC", "ioc"),
     ("Limit", "FOK", "fok"), ("Limit", "PostOnly", "post_only"), ("Market", "IOC", "market")],
)  # fmt: skip
def test_a_bybit_plain_order_takes_its_type_and_time_in_force(
    bybit: Bybit, order_type: str, time_in_force: str, expected: str
) -> None:
    push = BYBIT.doc("bybit_ws_order_push.json")
    push["data"][0] |= {"orderType": order_type, "timeInForce": time_in_force}
    (order,) = bybit.parse(orjson.dumps(push)).events
    assert isinstance(order, OrderUpdate)
    assert order.order_type == expected


def test_a_bybit_rest_order_carries_canonical_words() -> None:
    (item,) = BYBIT.doc("bybit_rest_open_orders_response.json")["result"]["list"]
    order = BybitOrder.model_validate(item | {"category": "linear"}).to_event("bybit", "main")
    assert (order.state, order.order_type, order.algo) == ("live", "limit", False)


@pytest.mark.parametrize(
    ("field", "word"),
    [("orderStatus", "Done"), ("orderType", "Stop"), ("stopOrderType", "Moonshot")],
)
def test_an_unknown_bybit_word_is_an_unknown_message_naming_the_field(
    bybit: Bybit, field: str, word: str
) -> None:
    push = BYBIT.doc("bybit_ws_order_push.json")
    push["data"][0][field] = word
    with pytest.raises(UnknownMessage) as caught:
        bybit.parse(orjson.dumps(push))
    assert caught.value.venue == "bybit"
    assert field in caught.value.reason


def test_okx_words_are_the_canonical_ones_and_an_unknown_one_is_refused() -> None:
    push = OKX.doc("okx_ws_orders_push.json")
    order = parsed_order(Okx(ACCOUNT).parse(orjson.dumps(push)).events)
    assert (order.state, order.order_type) == ("filled", "limit")
    push["data"][0]["state"] = "done"
    with pytest.raises(UnknownMessage) as caught:
        Okx(ACCOUNT).parse(orjson.dumps(push))
    assert "state" in caught.value.reason


@pytest.mark.parametrize(
    ("changes", "state", "order_type"),
    [
        ({"status": "new", "filledSize": 0}, "live", "ioc"),
        ({"status": "open", "filledSize": 0, "ioc": False}, "live", "post_only"),
        ({"status": "open", "filledSize": 4}, "partially_filled", "ioc"),
        ({"status": "closed", "filledSize": 12}, "filled", "ioc"),
        ({"status": "closed", "filledSize": 4}, "canceled", "ioc"),
        ({"type": "market", "status": "closed", "filledSize": 12}, "filled", "market"),
        ({"ioc": False, "postOnly": False}, "canceled", "limit"),
    ],
)
def test_ftx_status_and_filled_size_make_the_canonical_state(
    changes: dict[str, Any], state: str, order_type: str
) -> None:
    frame = orjson.loads(FTX_ORDER.read_bytes())
    frame["data"] |= changes  # documented: a limit of 12 (ioc, postOnly), 4 filled, closed
    (order,) = Ftx(ACCOUNT).parse_private(orjson.dumps(frame).decode()).events
    assert isinstance(order, OrderUpdate)
    assert (order.state, order.order_type) == (state, order_type)


def test_an_unknown_ftx_status_is_an_unknown_message() -> None:
    frame = orjson.loads(FTX_ORDER.read_bytes())
    frame["data"]["status"] = "triggered"
    with pytest.raises(UnknownMessage) as caught:
        Ftx(ACCOUNT).parse_private(orjson.dumps(frame).decode())
    assert "status" in caught.value.reason


def test_the_order_page_names_every_canonical_and_every_mapped_word() -> None:
    page = DOCS.read_text()
    venue_words = [
        *BINANCE_STATES, *BINANCE_ALGO_STATES, "FINISHED", *BINANCE_TYPES, *BYBIT_STATES,
        *BYBIT_STOP_TYPES, "Market", "Limit", "PostOnly", "GTX",
    ]  # fmt: skip
    for word in (*ORDER_STATES, *CANONICAL_TYPES, *venue_words):
        assert f"`{word}`" in page, word
    assert "Binance and Bybit updates carry their venue's own" not in page
