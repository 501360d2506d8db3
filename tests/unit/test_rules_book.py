"""The PriceBook: rules kept as columns come back as the very same PriceRules, built on demand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from rules.base import Cooldown, Every, Once
from rules.book import CACHED_RULES, PriceBook
from rules.load import load_rules
from rules.price import PriceRule
from rules.template import Template


def rule(name: str, where: str, level: str, **fields: object) -> PriceRule:
    spec: dict[str, object] = {"venue": "okx", "market": "BTC-USDT", "op": "above", **fields}
    return PriceRule.create(
        name=name,
        channels=("desk", "ops"),
        message=Template("{market} {price}", PriceRule.PLACEHOLDERS),
        repeat=Cooldown(seconds=60),
        where=where,
        level=Decimal(level),
        **spec,
    )


# Wheres that are not "file:line" are kept whole; levels keep their exact text and exponent.
RULES = [
    rule("a", "rules.yaml:3", "65000.10"),
    rule("b", "rules.yaml:9", "1E+5", venue="binance", source="mark", op="crosses_down"),
    rule("café", "C:/rules/x.yaml:12", "-0.000001", market="ETH-USDT"),
    rule("d", "made in a test", "7", op="below"),
    rule("e", "x.yaml:0", "0.1", op="crosses_up"),
    rule("f", "x.yaml:07", "2", op="crosses_up"),
    rule("g", "x.yaml:99999999999", "2"),
]


def test_every_rule_comes_back_equal_with_its_id_where_and_exact_level() -> None:
    book = PriceBook.of(RULES)
    assert len(book) == len(RULES)
    for position, original in enumerate(RULES):
        built = book[position]
        assert built == original
        assert built.id == original.id
        assert built.where == original.where
        assert str(built.level) == str(original.level)
    assert list(book) == RULES
    assert book.name(2) == "café"
    assert book.names(1, 4) == ["b", "café", "d"]
    assert book.names(3, 5) == ["d", "e"]
    assert book.level(1) == Decimal("1E+5")
    assert book.repeat(0) == Cooldown(seconds=60)


def test_rules_sharing_settings_share_one_group() -> None:
    book = PriceBook.of(RULES[:2])
    assert len(book.groups) == 1
    book.add(rule("h", "other.yaml:1", "1"))
    assert len(book.groups) == 2


def test_a_built_rule_is_kept_while_it_is_used_and_the_cache_is_bounded() -> None:
    book = PriceBook.of([rule(f"r{n}", f"t.yaml:{n + 1}", str(n)) for n in range(3)])
    assert book[1] is book[1]
    assert book[-1] is book[2]
    assert book[0:3:2] == [book[0], book[2]]
    with pytest.raises(IndexError):
        book[3]
    many = PriceBook.of([rule(f"r{n}", f"t.yaml:{n + 1}", str(n)) for n in range(CACHED_RULES + 2)])
    first = many[0]
    for position in range(1, CACHED_RULES + 2):
        many[position]
    assert many[0] is not first  # evicted, and built again equal
    assert many[0] == first


def test_markets_lists_each_series_once() -> None:
    book = PriceBook.of(RULES)
    assert book.markets() == {
        ("okx", "BTC-USDT", "last"),
        ("binance", "BTC-USDT", "mark"),
        ("okx", "ETH-USDT", "last"),
    }
    assert PriceBook().markets() == set()


def test_books_of_the_same_rules_are_equal() -> None:
    assert PriceBook.of(RULES) == PriceBook.of(RULES)
    assert PriceBook.of(RULES) != PriceBook.of(RULES[:-1])
    assert PriceBook.of(RULES) != PriceBook.of([*RULES[:-1], rule("g", "x.yaml:1", "2")])


@pytest.mark.parametrize("repeat", [Once(), Every(), Cooldown(seconds=1)])
def test_the_ruleset_of_a_yaml_file_holds_its_price_rules_in_a_book(
    tmp_path: Path, repeat: Once | Every | Cooldown
) -> None:
    written = {
        Once(): "repeat: once",
        Every(): "repeat: every",
        Cooldown(seconds=1): "cooldown: 1s",
    }
    path = tmp_path / "rules.yaml"
    path.write_text(
        'channels: {desk: "json://127.0.0.1:9/x"}\n'
        "rules:\n"
        "  - name: up\n"
        '    price: {market: BTC-USDT, crosses_up: "65000.50"}\n'
        "    notify: desk\n"
        f"    {written[repeat]}\n"
        "  - {name: fills, fill: {}, notify: desk}\n"
    )
    ruleset = load_rules([path], env={})
    assert isinstance(ruleset.books[PriceRule.KIND], PriceBook)
    [price] = ruleset.of(PriceRule)
    assert (price.name, price.repeat, price.where, str(price.level)) == (
        "up", repeat, f"{path}:3", "65000.50",
    )  # fmt: skip
    assert ruleset.by_id[price.id] is price
    assert [r.name for r in ruleset.rules()] == ["up", "fills"]
    assert load_rules([path], env={}).books[PriceRule.KIND] == ruleset.books[PriceRule.KIND]
