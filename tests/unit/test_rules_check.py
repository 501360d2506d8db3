"""Rule semantics: PriceRule.check and FillRule.check as tables, and what messages may use."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from rules.base import Every, Once
from rules.fill import FillRule
from rules.price import PriceRule
from rules.template import Template
from watcher.events import Fill

AT = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)


def price_rule(op: str, level: str = "100", message: str = PriceRule.DEFAULT_MESSAGE) -> PriceRule:
    return PriceRule.create(
        name="p",
        channels=("desk",),
        message=Template(message, PriceRule.PLACEHOLDERS),
        repeat=Once(),
        where="t.yaml:1",
        venue="okx",
        market="BTC-USDT",
        op=op,
        level=Decimal(level),
    )


def fill_rule(**filters: str) -> FillRule:
    return FillRule.create(
        name="f",
        channels=("desk",),
        message=Template(FillRule.DEFAULT_MESSAGE, FillRule.PLACEHOLDERS),
        repeat=Every(),
        where="t.yaml:1",
        **filters,
    )


@pytest.mark.parametrize(
    ("op", "prev", "now", "fires"),
    [
        ("above", None, "100.01", True),
        ("above", None, "100", False),  # equal is not above
        ("above", None, "100.00", False),
        ("above", "200", "99", False),
        ("below", None, "99.99", True),
        ("below", None, "100", False),  # equal is not below
        ("below", "1", "101", False),
        ("crosses_up", None, "101", False),  # no previous price: no crossing
        ("crosses_up", "99", "100", True),  # reaching the level from below crosses it
        ("crosses_up", "99.999", "100.000", True),
        ("crosses_up", "99", "150", True),
        ("crosses_up", "100", "101", False),  # leaving the level upward does not
        ("crosses_up", "101", "102", False),
        ("crosses_up", "101", "99", False),
        ("crosses_up", "99", "99.99", False),
        ("crosses_down", None, "99", False),
        ("crosses_down", "101", "100", True),
        ("crosses_down", "150", "50", True),
        ("crosses_down", "100", "99", False),
        ("crosses_down", "99", "101", False),
        ("crosses_down", "100.01", "100.001", False),
    ],
)
def test_price_check(op: str, prev: str | None, now: str, fires: bool) -> None:
    rule = price_rule(op)
    assert rule.check(None if prev is None else Decimal(prev), Decimal(now)) is fires


def fill(**overrides: str) -> Fill:
    fields: dict[str, object] = {
        "venue": "okx",
        "at": AT,
        "account": "main",
        "market": "BTC-USDT",
        "side": "buy",
        "price": Decimal("60000.1"),
        "size": Decimal("0.01"),
        "fee": Decimal("-0.0000001"),
        "fee_ccy": "BTC",
        "trade_id": "t1",
        "order_id": "o1",
        "liquidity": "taker",
    }
    return Fill.model_validate({**fields, **overrides})


@pytest.mark.parametrize(
    ("filters", "event", "fires"),
    [
        ({}, {}, True),
        ({}, {"side": "sell", "venue": "binance", "market": "X"}, True),
        ({"side": "buy"}, {}, True),
        ({"side": "buy"}, {"side": "sell"}, False),
        ({"market": "BTC-USDT"}, {"market": "ETH-USDT"}, False),
        ({"venue": "okx", "account": "main"}, {}, True),
        ({"venue": "okx", "account": "main"}, {"account": "alt"}, False),
        ({"venue": "binance"}, {}, False),
        ({"venue": "okx", "account": "main", "market": "BTC-USDT", "side": "buy"}, {}, True),
    ],
)
def test_fill_check(filters: dict[str, str], event: dict[str, str], fires: bool) -> None:
    assert fill_rule(**filters).check(fill(**event)) is fires


def test_price_fields_cover_every_placeholder_and_render_the_default() -> None:
    rule = price_rule("crosses_up", level="60100")
    values = rule.fields(price=Decimal("60100.5"), prev=Decimal("60099"), at=AT, bid=Decimal("1"))
    assert set(values) == PriceRule.PLACEHOLDERS
    assert values["ask"] == ""
    assert values["time"] == "2024-05-01T12:00:00.123Z"
    assert rule.render(values) == "[p] BTC-USDT crossed above 60100: last 60100.5 on okx"


def test_fill_fields_cover_every_placeholder_and_render_the_default() -> None:
    rule = fill_rule()
    values = rule.fields(fill(client_order_id="k1"))
    assert set(values) == FillRule.PLACEHOLDERS
    assert values["fee"] == "-0.0000001"
    assert values["client_order_id"] == "k1"
    assert values["late"] == ""
    assert rule.render(values) == "[f] okx/main buy 0.01 BTC-USDT @ 60000.1 (trade t1)"
    assert rule.fields(fill().model_copy(update={"late": True}))["late"] == "late"
