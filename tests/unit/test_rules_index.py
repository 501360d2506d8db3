"""PriceIndex against brute force: the index must return exactly what check() says, live only."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from rules.base import Once
from rules.book import PriceBook
from rules.index import PriceIndex
from rules.load import load_rules
from rules.price import OPS, PriceRule
from rules.template import Template

# Levels and prices that tie exactly, and some that differ only beyond float precision, so the
# index's float pre-bisection must settle ties on the exact Decimals.
POOL = [
    Decimal(text)
    for text in (
        "0.1", "0.10", "0.1000000000000000000001", "0.0999999999999999999999", "0.2",
        "59000", "59999.99", "60000", "60000.00", "60000.0000000000000001", "60000.01",
        "60100", "61000", "1E+5",
    )
]  # fmt: skip
SERIES = [("okx", "BTC-USDT", "last"), ("okx", "BTC-USDT", "mark"), ("binance", "BTCUSDT", "last")]


def rule(n: int, series: tuple[str, str, str], op: str, level: Decimal) -> PriceRule:
    venue, market, source = series
    return PriceRule.create(
        name=f"r{n}",
        channels=("desk",),
        message=Template(PriceRule.DEFAULT_MESSAGE, PriceRule.PLACEHOLDERS),
        repeat=Once(),
        where=f"test.yaml:{n}",
        venue=venue,
        market=market,
        source=source,
        op=op,
        level=level,
    )


def brute(
    rules: list[PriceRule], index: PriceIndex, series: tuple[str, str, str], prev: Decimal | None,
    now: Decimal,
) -> list[int]:  # fmt: skip
    return [
        i
        for i, r in enumerate(rules)
        if (r.venue, r.market, r.source) == series and index.alive(i) and r.check(prev, now)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_candidates_equal_brute_force_with_retirement(seed: int) -> None:
    rng = random.Random(seed)
    rules = [rule(n, rng.choice(SERIES), rng.choice(OPS), rng.choice(POOL)) for n in range(600)]
    index = PriceIndex(rules)
    assert index.entries() == len(rules)
    last: dict[tuple[str, str, str], Decimal | None] = dict.fromkeys(SERIES)
    fired = 0
    for _ in range(3000):
        series = rng.choice(SERIES)
        prev, now = last[series], rng.choice(POOL)
        got = index.candidates(*series, prev, now, 0)
        assert got == brute(rules, index, series, prev, now), (series, prev, now)
        fired += len(got)
        # Retire most of what fired, as claimed once-rules are, so dead entries pile up.
        for position in got:
            if rng.random() < 0.8:
                index.retire(position)
        last[series] = None if rng.random() < 0.02 else now
    assert fired > 300  # the ticks really exercised firing rules
    assert index.entries() < len(rules)  # and dead entries were dropped on the way


def test_candidates_for_unknown_series_and_no_previous_price() -> None:
    rules = [
        rule(0, SERIES[0], "crosses_up", Decimal(10)),
        rule(1, SERIES[0], "above", Decimal(10)),
    ]
    index = PriceIndex(rules)
    assert index.candidates("okx", "ETH-USDT", "last", Decimal(5), Decimal(20), 0) == []
    assert index.candidates(*SERIES[0], None, Decimal(20), 0) == [1]
    assert index.candidates(*SERIES[0], Decimal(5), Decimal(20), 0) == [0, 1]


def test_retired_rule_never_returns_and_retire_is_idempotent() -> None:
    rules = [rule(n, SERIES[0], "above", Decimal(n)) for n in range(100)]
    index = PriceIndex(rules)
    assert index.candidates(*SERIES[0], None, Decimal(50), 0) == list(range(50))
    for position in range(0, 50, 2):
        index.retire(position)
        index.retire(position)
    odd = list(range(1, 50, 2))
    assert index.candidates(*SERIES[0], None, Decimal(50), 0) == odd
    # The 25 dead entries walked over above were dropped: the next tick doesn't walk them.
    assert index.entries() == 75
    assert index.candidates(*SERIES[0], None, Decimal(1000), 0) == [*odd, *range(50, 100)]
    assert not index.alive(0)
    assert index.alive(1)


@pytest.mark.parametrize(
    ("op", "prev", "now", "expected"),
    [
        ("crosses_up", "59999", "60000", [0, 1]),  # both spellings of the level, at equality
        ("crosses_up", "60000", "60001", []),  # starting at the level is not a cross up
        ("crosses_down", "60001", "60000", [0, 1]),
        ("crosses_down", "60000", "59999", []),
        ("above", None, "60000", []),
        ("above", None, "60000.0000000000000001", [0, 1]),  # beyond float precision
        ("below", None, "59999.9999999999999999", [0, 1]),
        ("below", None, "60000", []),
    ],
)
def test_equal_levels_at_the_boundary(
    op: str, prev: str | None, now: str, expected: list[int]
) -> None:
    rules = [rule(0, SERIES[0], op, Decimal("60000")), rule(1, SERIES[0], op, Decimal("60000.00"))]
    index = PriceIndex(rules)
    before = None if prev is None else Decimal(prev)
    assert index.candidates(*SERIES[0], before, Decimal(now), 0) == expected
    assert expected == brute(rules, index, SERIES[0], before, Decimal(now))


def test_an_index_built_from_a_table_book_equals_brute_force(tmp_path: Path) -> None:
    # Written as a rule table: the index is built from the book's columns, no PriceRule needed.
    rng = random.Random(7)
    texts = [format(level, "f") if rng.random() < 0.5 else str(level) for level in POOL]
    rows = [(f"r{n}", *rng.choice(SERIES), rng.choice(OPS), rng.choice(texts)) for n in range(800)]
    (tmp_path / "levels.csv").write_text(
        "name,venue,market,source,op,level\n" + "".join(",".join(row) + "\n" for row in rows)
    )
    (tmp_path / "rules.yaml").write_text(
        'channels: {desk: "json://127.0.0.1:9/x"}\ntables: [{file: levels.csv, notify: desk}]\n'
    )
    book = load_rules([tmp_path / "rules.yaml"], env={}).books[PriceRule.KIND]
    assert isinstance(book, PriceBook)
    index = PriceIndex(book)
    rules = list(book)
    assert [(r.name, r.venue, r.market, r.source, r.op, r.level) for r in rules] == [
        (*row[:5], Decimal(row[5])) for row in rows
    ]
    last: dict[tuple[str, str, str], Decimal | None] = dict.fromkeys(SERIES)
    for _ in range(2000):
        series = rng.choice(SERIES)
        prev, now = last[series], rng.choice(POOL)
        got = index.candidates(*series, prev, now, 0)
        assert got == brute(rules, index, series, prev, now), (series, prev, now)
        for position in got:
            if rng.random() < 0.5:
                index.retire(position)
        last[series] = now


def test_a_previous_price_outside_the_quiet_band_still_crosses() -> None:
    # 70 fires nothing: the quiet band is then (50, 100). A tick whose previous price comes from
    # elsewhere (a job that read it from Redis) must be checked with it, not with the band's.
    rules = [
        rule(0, SERIES[0], "crosses_down", Decimal(100)),
        rule(1, SERIES[0], "crosses_down", Decimal(50)),
        rule(2, SERIES[0], "above", Decimal(200)),
    ]
    index = PriceIndex(rules)
    assert index.candidates(*SERIES[0], None, Decimal(70), 0) == []
    assert index.candidates(*SERIES[0], Decimal(70), Decimal(75), 0) == []
    assert index.candidates(*SERIES[0], Decimal(120), Decimal(75), 0) == [0]
    assert index.candidates(*SERIES[0], Decimal(75), Decimal(50), 0) == [1]


def test_retired_levels_beyond_the_band_walk_still_leave_the_live_level_firing() -> None:
    # 100 above levels, all but 180 retired: the band's edge search gives up after a few
    # dead ones, and the price still reaches the live level exactly when it should.
    rules = [rule(n, SERIES[0], "above", Decimal(101 + n)) for n in range(100)]
    index = PriceIndex(rules)
    assert index.candidates(*SERIES[0], None, Decimal(300), 0) == list(range(100))
    for position in range(100):
        if position != 79:
            index.retire(position)
    path = ["50", "60", "150", "179", "179.5", "180", "180.0001", "90"]
    expected = [[], [], [], [], [], [], [79], []]
    prev = None
    for text, want in zip(path, expected, strict=True):
        now = Decimal(text)
        assert index.candidates(*SERIES[0], prev, now, 0) == want, text
        prev = now


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_a_random_walk_equals_brute_force_whatever_the_previous_price(seed: int) -> None:
    # Sparse levels and small steps, so most ticks fall inside a quiet band; the previous price
    # is mostly the last tick's, sometimes an equal Decimal, another price or none at all.
    rng = random.Random(seed)
    grid = [Decimal(n) / 4 for n in range(1600, 2400)]
    steps = [Decimal(n) / 4 for n in range(-8, 9)]
    rules = [rule(n, rng.choice(SERIES), rng.choice(OPS), rng.choice(grid)) for n in range(300)]
    index = PriceIndex(rules)
    price = dict.fromkeys(SERIES, Decimal(500))
    last: dict[tuple[str, str, str], Decimal | None] = dict.fromkeys(SERIES)
    fired = quiet = 0
    for _ in range(6000):
        series = rng.choice(SERIES)
        now = price[series] = price[series] + rng.choice(steps)
        prev = last[series]
        odd = rng.random()
        if odd < 0.05 and prev is not None:
            prev = Decimal(str(prev))  # the same price, another object
        elif odd < 0.08:
            prev = rng.choice([None, rng.choice(grid)])
        got = index.candidates(*series, prev, now, 0)
        assert got == brute(rules, index, series, prev, now), (series, prev, now)
        fired += len(got)
        quiet += not got
        for position in got:
            if rng.random() < 0.9:
                index.retire(position)
        last[series] = now
    # Both paths really ran: ticks that fired, and many more that fired nothing.
    assert fired > 100
    assert quiet > 3000
