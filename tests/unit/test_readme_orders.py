"""The README's emulated orders example loads, holds every order kind, and fires as its
comments say."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from rules.actions import Action, ExpireOrder, PlaceOrder
from rules.emulated import EmulatedRule
from rules.kinds import Dispatch
from rules.load import load_rules
from rules.stop import StopRule

README = Path(__file__).resolve().parents[2] / "README.md"


def _example(tmp_path: Path) -> dict[str, EmulatedRule]:
    text = README.read_text().split("## Emulated orders", 1)[1]
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None, "the section has no yaml example"
    path = tmp_path / "orders.yaml"
    path.write_text(block.group(1))
    ruleset = load_rules([path], env={"TG_TOKEN": "1:x", "TG_CHAT": "2"})
    rules = {rule.name: rule for rule in ruleset.rules() if isinstance(rule, EmulatedRule)}
    assert len(rules) == ruleset.count()
    return rules


def test_the_example_has_every_order_kind(tmp_path: Path) -> None:
    rules = _example(tmp_path)
    assert {rule.KIND for rule in rules.values()} == {
        "stop", "take_profit", "trailing", "oco", "bracket",
    }  # fmt: skip
    stop_limit = rules["btc-stop-limit"]
    assert isinstance(stop_limit, StopRule)
    assert stop_limit.price == Decimal(59700)
    swap = rules["swap-stop"]
    assert (swap.reduce_only, swap.source, swap.limits.max_size) == (True, "mark", Decimal(5))
    close = rules["swap-close"]
    assert (close.close_position, close.reduce_only, close.size) == (True, True, None)


def test_the_example_fires_as_its_comments_say(tmp_path: Path) -> None:
    rules = _example(tmp_path)
    books = load_rules([tmp_path / "orders.yaml"], env={"TG_TOKEN": "1:x", "TG_CHAT": "2"}).books
    ticks = Dispatch(books).ticks
    fired: list[tuple[str, str]] = []
    for price in ("60000", "59801", "59800", "61000", "61500", "60886", "60885"):
        for joint in ticks.candidates("okx", "BTC-USDT", "last", None, Decimal(price), 0):
            _, book, position = ticks.resolve(joint)
            fired.append((book[position].name, price))
    assert fired == [
        ("btc-stop", "59800"),
        ("btc-stop-limit", "59800"),
        ("btc-trailing", "60885"),  # active from 61000, high 61500, 1% below: 60885
    ]
    assert "btc-bracket" in rules  # armed only by an entry fill: no tick fires it before


def test_the_held_and_expiring_stop_fires_as_its_comments_say(tmp_path: Path) -> None:
    _example(tmp_path)
    books = load_rules([tmp_path / "orders.yaml"], env={"TG_TOKEN": "1:x", "TG_CHAT": "2"}).books
    deadline = int(datetime(2026, 12, 31, 23, 59, tzinfo=UTC).timestamp() * 1000)

    def play(path: list[tuple[int, str]]) -> list[tuple[int, Action]]:
        ticks = Dispatch(books).ticks  # a fresh worker: nothing held, nothing fired
        fired = []
        for ms, price in path:
            for joint in ticks.candidates("okx", "ETH-USDT", "last", None, Decimal(price), ms):
                _, book, position = ticks.resolve(joint)
                rule = book[position]
                if rule.name != "eth-stop-held":
                    continue  # the OCO's stop leg (2900) fires at once
                fired += [(ms, a) for a in rule.tick_actions(Decimal(price), None, ms, "", "")]
        return fired

    start = deadline - 60_000
    wick = [(start, "2890"), (start + 9_999, "2850"), (start + 10_000, "2950")]
    assert play(wick) == []  # under 2900 for 9.999 s: nothing
    [(at, placed)] = play([(start, "2890"), (start + 5_000, "2880"), (start + 10_000, "2899")])
    assert (at, type(placed)) == (start + 10_000, PlaceOrder)  # held 10 s: placed
    [(at, expired)] = play([(start, "2950"), (deadline, "2950"), (deadline + 1, "2800")])
    assert isinstance(expired, ExpireOrder)
    assert (at, expired.deadline_ms) == (deadline, deadline)  # and never placed after
