"""The benchmark's rule mix (`python -m bench --moves K --margins G`) loads on each venue the
benchmark speaks: the price table, then K move rules over its markets and G margin rules."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench.loadgen import Load
from bench.rulegen import RuleSpec, add_rules, write_rules
from bench.venues import VENUES
from rules.load import load_rules


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_the_mix_of_price_move_and_margin_rules_loads(tmp_path: Path, venue: str) -> None:
    load = Load(markets=4, phases=((1, 1.0),), steps=8, venue=venue)
    yaml, _ = write_rules(load, RuleSpec(40, 0.1), tmp_path)
    add_rules(yaml, load, moves=9, margins=5)
    ruleset = load_rules([yaml], env={"KLAXON_INBOX_PORT": "1"})
    kinds = Counter(rule.KIND for rule in ruleset.rules())
    assert kinds == {"price": 40, "move": 9, "margin": 5}
    # The move rules watch the markets the price rules watch: no series of their own.
    markets = {(v, m) for v, m, _ in ruleset.books["price"].markets()}
    assert {(v, m) for v, m, _ in ruleset.books["move"].markets()} <= markets
