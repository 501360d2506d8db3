"""Every documented OKX private frame (orders, fills, positions, balances) parses to the right
events, through Okx.parse; the public and status frames are test_okx_parse.py's."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from tests.unit.test_okx_parse import ACCOUNT, at, doc, frame
from watcher.events import (
    AccountUpdate,
    Balance,
    Event,
    Fill,
    OrderUpdate,
    PositionUpdate,
)
from watcher.venues.okx import Okx


@pytest.fixture
def okx() -> Okx:
    """The venue with an account label, as the watcher builds it."""
    return Okx(ACCOUNT)


POSITION_ETH_210430 = PositionUpdate(
    venue="okx",
    account=ACCOUNT,
    market="ETH-USD-210430",
    side="long",
    size=Decimal("1"),
    avg_price=Decimal("2566.31"),
    mark_price=Decimal("2353.849"),
    liquidation_price=Decimal("2352.8496681818233"),
    margin_ratio=Decimal("11.731726509588816"),
    unrealized_pnl=Decimal("-0.0000009932766034"),
    notional=Decimal("2276.2546609009605"),
    opened_at=at(2021, 4, 27, 7, 15, 58, 793),
    at=at(2021, 4, 27, 7, 16, 1, 462),
)

EVENT_CASES: list[tuple[str, list[Event]]] = [
    (
        "okx_ws_orders_push.json",
        [
            OrderUpdate(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USDT",
                order_id="452197707845865472",
                client_order_id="",
                side="sell",
                order_type="limit",
                state="filled",
                size=Decimal("0.001"),
                filled=Decimal("0.001"),
                price=Decimal("31527.1"),
                avg_price=Decimal("31527.1"),
                at=at(2022, 6, 1, 11, 52, 33, 264),
            ),
            Fill(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USDT",
                side="sell",
                price=Decimal("31527.1"),
                size=Decimal("0.001"),
                fee=Decimal("-0.02522168"),
                fee_ccy="USDT",
                trade_id="242589207",
                order_id="452197707845865472",
                liquidity="maker",
                at=at(2022, 6, 1, 11, 52, 33, 263),
            ),
        ],
    ),
    (
        "okx_ws_fills_push.json",
        [
            Fill(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USDT-SWAP",
                side="buy",
                price=Decimal("70000"),
                size=Decimal("100"),
                trade_id="12345",
                order_id="680800019749904384",
                client_order_id="1234567890",
                liquidity="taker",
                at=at(2024, 1, 17, 0, 0, 5, 15),
            )
        ],
    ),
    ("okx_ws_positions_push.json", [POSITION_ETH_210430]),
    (
        "okx_ws_positions_push_multi.json",
        [POSITION_ETH_210430, POSITION_ETH_210430.model_copy(update={"market": "ETH-USD-SWAP"})],
    ),
    (
        "okx_ws_liquidation_warning_push.json",
        [
            PositionUpdate(
                venue="okx",
                account=ACCOUNT,
                market="ETH-USD-210430",
                side="long",
                size=Decimal("1"),
                mark_price=Decimal("2353.849"),
                margin_ratio=Decimal("11.731726509588816"),
                opened_at=at(2021, 4, 27, 7, 15, 58, 793),
                warning=True,
                at=at(2021, 4, 27, 7, 16, 1, 462),
            )
        ],
    ),
    (
        "okx_ws_account_push.json",
        [
            AccountUpdate(
                venue="okx",
                account=ACCOUNT,
                total_equity=Decimal("55868.06403501676"),
                margin_ratio=None,  # "" in the frame
                balances=(
                    Balance(
                        ccy="USDT",
                        equity=Decimal("4892.951170691435"),
                        available=Decimal("4734.371190691436"),
                        cash=Decimal("4750.426970691436"),
                    ),
                ),
                at=at(2024, 1, 18, 7, 50, 23, 311),
            )
        ],
    ),
    (
        "okx_ws_balance_and_position_push.json",
        [
            AccountUpdate(
                venue="okx",
                account=ACCOUNT,
                balances=(Balance(ccy="BTC", cash=Decimal("1")),),
                at=at(2020, 8, 10, 2, 26, 23, 85),
            ),
            PositionUpdate(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USD-191018",
                side="long",
                size=Decimal("10"),
                avg_price=Decimal("3320"),
                at=at(2020, 8, 10, 2, 26, 23, 85),
            ),
        ],
    ),
    (
        "okx_ws_orders_algo_push.json",
        [
            OrderUpdate(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USDC",
                order_id="581878926302093312",
                side="buy",
                order_type="conditional",
                state="live",
                size=Decimal("11"),
                algo=True,
                at=at(2024, 2, 23, 9, 14, 35, 245),
            )
        ],
    ),
    (
        "okx_ws_algo_advance_push.json",
        [
            OrderUpdate(
                venue="okx",
                account=ACCOUNT,
                market="BTC-USDT",
                order_id="355056228680335360",
                side="buy",
                order_type="iceberg",
                state="pause",
                size=Decimal("0.1"),
                algo=True,
                at=at(2021, 9, 6, 10, 31, 35, 204),  # pTime: this channel has no uTime
            )
        ],
    ),
]


@pytest.mark.parametrize(("name", "events"), EVENT_CASES)
def test_private_frames_become_events(okx: Okx, name: str, events: list[Event]) -> None:
    parsed = okx.parse(frame(name), feed="private")
    assert parsed.ticks == []
    assert parsed.events == events
    for event in parsed.events:
        assert event.at.utcoffset() == timedelta(0)


def test_prices_keep_the_exchange_digits(okx: Okx) -> None:
    (position,) = okx.parse(frame("okx_ws_positions_push.json")).events
    assert isinstance(position, PositionUpdate)
    assert position.liquidation_price == Decimal("2352.8496681818233")
    assert str(position.margin_ratio) == "11.731726509588816"
    _, fill = okx.parse(frame("okx_ws_orders_push.json")).events
    assert isinstance(fill, Fill)
    assert str(fill.fee) == "-0.02522168"


def test_order_without_a_fill_has_no_fill_event(okx: Okx) -> None:
    # A live order update: same documented frame with the execution fields emptied.
    live = doc("okx_ws_orders_push.json")
    live["data"][0].update(tradeId="", fillSz="0", fillPx="", fillTime="", state="live")
    (event,) = okx.parse(orjson.dumps(live)).events
    assert isinstance(event, OrderUpdate)
    assert event.state == "live"
