"""Rule tables in a real worker: a row fires, delivers through apprise, and is the same rule as
its YAML spelling (same id, same claim), so moving rules into a table never re-arms them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rules.index import PriceIndex
from rules.price import PriceRule
from tests.integration.test_workers_harness import STREAM, Klaxon, harness
from watcher import keys
from workers import context

MESSAGE = "{rule} {market} {op} {level} at {price}"
LEVELS = """\
name,market,op,level
btc-up,BTC-USDT,crosses_up,65000
btc-far,BTC-USDT,crosses_up,90000
eth-up,ETH-USDT,crosses_up,1
"""


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def _table_rules(kx: Klaxon) -> None:
    """Load a rule file with no rules of its own and a table whose rows notify the inbox."""
    (kx.tmp_path / "levels.csv").write_text(LEVELS)
    kx.rules(f'  []\ntables:\n  - file: levels.csv\n    notify: [desk]\n    message: "{MESSAGE}"\n')


def test_a_table_row_fires_once_and_its_message_reaches_the_channel(kx: Klaxon) -> None:
    _table_rules(kx)
    kx.ticks("64990.5", "65010.25")
    kx.work()
    kx.ticks("64000", "66000")  # crosses again: a once-rule stays quiet
    kx.work()
    assert [(body["title"], body["message"]) for body in kx.inbox.accepted()] == [
        ("klaxon: btc-up", "btc-up BTC-USDT crossed above 65000 at 65010.25")
    ]
    rule = context.current().ruleset.of(PriceRule)[0]
    assert kx.r.get(keys.claim(rule.id)) is not None
    index = context.current().dispatch.matchers[PriceRule.KIND]
    assert isinstance(index, PriceIndex)
    assert not index.alive(0)  # retired: later ticks never look at it
    assert index.alive(1)
    assert kx.r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_rule_moved_from_yaml_into_a_table_keeps_its_claim(kx: Klaxon) -> None:
    kx.rules(
        "  - name: btc-up\n"
        '    price: {market: BTC-USDT, crosses_up: "65000"}\n'
        "    notify: [desk]\n"
        f'    message: "{MESSAGE}"\n'
    )
    written = context.current().ruleset.of(PriceRule)[0]
    kx.ticks("64990", "65010")
    kx.work()
    assert kx.messages() == ["btc-up BTC-USDT crossed above 65000 at 65010"]
    _table_rules(kx)
    assert context.current().ruleset.of(PriceRule)[0].id == written.id
    kx.ticks("64000", "66000")
    kx.work()
    assert kx.messages() == ["btc-up BTC-USDT crossed above 65000 at 65010"]
