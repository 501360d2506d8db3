"""watcher.sanity: the bounds every venue's values keep, checked value by value."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from watcher import sanity

NOW_MS = int(time.time() * 1000)

GOOD_PRICES = ["9999.99", "65000", "0.00001234", "12.", ".5", "0.10", "25.35190000"]
BAD_PRICES: list[tuple[str, object]] = [
    ("negative", "-1.5"),
    ("zero", "0"),
    ("zero with decimals", "0.000"),
    ("negative zero", "-0"),
    ("zero exponent form", "0E+3"),
    ("exponent", "1E-8"),
    ("exponent with a sign", "2.5e+3"),
    ("a plus sign", "+1.5"),
    ("empty", ""),
    ("a dot", "."),
    ("two dots", "1.2.3"),
    ("huge exponent", "1e999999999"),
    ("tiny exponent", "1e-999999999"),
    ("NaN", "NaN"),
    ("sNaN", "sNaN"),
    ("Infinity", "Infinity"),
    ("Arabic-Indic digits", "\u0661\u0662\u0663.\u0664"),
    ("fullwidth digits", "\uff11\uff12"),
    ("underscore", "1_000.5"),
    ("leading space", " 5"),
    ("trailing newline", "5\n"),
    ("letters", "abc"),
    ("hex", "0x10"),
    ("too long", "1" * (sanity.MAX_TEXT + 1)),
    ("JSON number", 1.5),
    ("JSON integer", 5),
    ("boolean", True),
    ("null", None),
    ("list", ["1"]),
]


@pytest.mark.parametrize("text", GOOD_PRICES)
def test_a_price_is_kept_exactly(text: str) -> None:
    assert sanity.price(text) is text
    assert Decimal(text) > 0


@pytest.mark.parametrize(("case", "value"), BAD_PRICES, ids=[c for c, _ in BAD_PRICES])
def test_anything_else_is_not_a_price(case: str, value: object) -> None:
    with pytest.raises(ValueError, match=r"price|amount"):
        sanity.price(value)


@pytest.mark.parametrize(
    ("text", "kept"), [("", ""), ("0", ""), ("0.000", ""), ("0.00000000", ""), ("1.5", "1.5")]
)
def test_a_quote_of_zero_is_an_empty_book_side(text: str, kept: str) -> None:
    assert sanity.quote(text) == kept


@pytest.mark.parametrize("text", ["-1", "NaN", "1e999999999", None, 1])
def test_a_bad_quote_is_not_absent(text: object) -> None:
    with pytest.raises(ValueError, match=r"price|amount"):
        sanity.quote(text)


GOOD_TIMES: list[object] = [
    "1597026383085",  # OKX's documented example (2020)
    "1230768000000",  # the first ms of 2009
    123456789,  # Binance's documented examples' event time (1970-01-02)
    "1",
    str(NOW_MS),
    NOW_MS + sanity.AHEAD_MS - 60_000,
    1_700_000_000_000,
]
BAD_TIMES: list[tuple[str, object]] = [
    ("1e300 as a JSON number", 1e300),
    ("a float", 1597026383085.0),
    ("above 2^63", "99999999999999999999"),
    ("within int64 but absurd", "99999999999999999"),
    ("two days ahead", str(NOW_MS + 2 * sanity.AHEAD_MS)),
    ("zero", 0),
    ("negative", -1597026383085),
    ("true", True),
    ("Arabic-Indic digits", "".join(chr(0x0660 + int(d)) for d in "1597026383085")),
    ("underscores", "1_597_026_383_08"),
    ("spaces", " 597026383085"),
    ("a sign", "+597026383085"),
    ("14 digits", "01597026383085"),
    ("empty", ""),
    ("words", "soon"),
    ("null", None),
]


@pytest.mark.parametrize("value", GOOD_TIMES)
def test_a_time_within_the_window_is_read(value: object) -> None:
    ms = sanity.exchange_ms(value)
    assert type(ms) is int
    assert ms == int(str(value))


@pytest.mark.parametrize(("case", "value"), BAD_TIMES, ids=[c for c, _ in BAD_TIMES])
def test_a_time_outside_the_window_or_not_ms_is_refused(case: str, value: object) -> None:
    with pytest.raises(ValueError, match="time"):
        sanity.exchange_ms(value)


def test_a_stale_ceiling_is_refreshed_before_a_time_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ceiling is cached (no clock read per tick); an old one must not refuse a good time.
    monkeypatch.setattr(sanity, "_ceiling", sanity.MIN_MS)
    assert sanity.exchange_ms(str(NOW_MS)) == NOW_MS
    assert sanity.latest_ms() >= NOW_MS + sanity.AHEAD_MS


@pytest.mark.parametrize(
    "value", ["0", "-0.02522168", "2352.8496681818233", "1e64", "-1e-64", "1E+30"]
)
def test_an_amount_of_sane_magnitude_is_kept(value: str) -> None:
    assert sanity.amount(Decimal(value)) == Decimal(value)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e65", "1e999999999", "1e-65"])
def test_an_absurd_amount_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="amount"):
        sanity.amount(Decimal(value))


@pytest.mark.parametrize("value", ["0", "-1", "-0.0001"])
def test_a_positive_amount_is_above_zero(value: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        sanity.positive(Decimal(value))


def test_an_instant_lies_within_the_window() -> None:
    now = datetime.now(UTC)
    assert sanity.instant(now) == now
    assert sanity.instant(datetime(1970, 1, 2, tzinfo=UTC))
    for bad in (datetime(1970, 1, 1, tzinfo=UTC), now + timedelta(days=2)):
        with pytest.raises(ValueError, match="time"):
            sanity.instant(bad)


ROW = ("BTC-USDT", "last", "9999.99", "8888.88", "9999.99", "1597026383085")


def test_a_tick_keeps_the_exchange_texts() -> None:
    assert sanity.tick(*ROW) == ("BTC-USDT", "last", "9999.99", "8888.88", "9999.99", 1597026383085)
    assert sanity.tick("BTC-USDT", "mark", "0.1", "", "0", 1597026383085)[2:5] == ("0.1", "", "")


@pytest.mark.parametrize(
    ("part", "value"),
    [
        (0, ""),
        (0, 5),
        (0, None),
        (0, ["BTC-USDT"]),
        (0, "X" * (sanity.MAX_TEXT + 1)),
        (2, "0"),
        (2, ""),
        (2, "-1"),
        (3, "-1"),
        (3, None),
        (4, "NaN"),
        (4, 2.5),
        (5, "99999999999999999"),
        (5, True),
    ],
)
def test_a_tick_with_one_bad_part_is_refused(part: int, value: object) -> None:
    row: list[Any] = list(ROW)
    row[part] = value
    with pytest.raises(ValueError, match=r"market|price|amount|time"):
        sanity.tick(*row)


def test_a_stored_tick_reads_only_within_bounds() -> None:
    assert sanity.tick_value("65000.5", NOW_MS) == Decimal("65000.5")
    for price, ms in [
        ("-1", NOW_MS),
        ("0", NOW_MS),
        ("NaN", NOW_MS),
        ("1e999999999", NOW_MS),
        ("1", NOW_MS + 2 * sanity.AHEAD_MS),
        ("1", 0),
        ("1", True),
        ("1", "1597026383085"),
    ]:
        with pytest.raises(ValueError, match="tick"):
            sanity.tick_value(price, ms)
