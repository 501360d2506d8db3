"""Every rule file example in docs/rules/*.md and in the README loads and replays, so the docs
cannot rot: against its own price path or recording and expected output when the page gives
them, otherwise against a path through every price rule's level, where each price rule must fire
(the conventions are in docs/rules/README.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from klaxon.check import CheckEnv
from klaxon.replay import read_path, read_recording, replay_entries
from rules.load import RuleSet, load_rules
from rules.price import PriceRule

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "rules"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
FENCE = re.compile(r"^```([^\s`]*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
RULE_FILE_KEYS = {"channels", "rules", "tables"}
VENUES = ("okx",)
T0 = 1767603600000  # where synthesized paths start: 2026-01-05T09:00:00Z


@dataclass
class Block:
    """One fenced block of a page: its language, its text, the line its fence opens on."""

    lang: str
    text: str
    line: int


@dataclass
class Example:
    """A rule file example, with the tables, price path (a CSV, or a `klaxon record` recording:
    `recorded`) and expected output that follow it."""

    where: str
    text: str
    tables: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    recorded: bool = False
    expected: list[str] | None = None


def _blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def _table_files(data: dict[str, object]) -> list[str]:
    tables = data.get("tables")
    if not isinstance(tables, list):
        return []
    return [t["file"] for t in tables if isinstance(t, dict) and isinstance(t.get("file"), str)]


def _examples(page: Path) -> list[Example]:
    blocks = _blocks(page)
    found: list[Example] = []
    for i, block in enumerate(blocks):
        if block.lang != "yaml":
            continue
        data = yaml.safe_load(block.text)
        if not isinstance(data, dict) or not RULE_FILE_KEYS & set(data):
            continue
        example = Example(f"{page.relative_to(ROOT)}:{block.line}", block.text)
        after = []
        for later in blocks[i + 1 :]:
            if later.lang == "yaml":
                break
            after.append(later)
        names = _table_files(data)
        for j, later in enumerate(after):
            is_path = later.lang == "csv" and later.text.startswith("ts,")
            if is_path or later.lang == "jsonl":
                if example.path is None:
                    example.path, example.recorded = later.text, later.lang == "jsonl"
                    out = next((b for b in after[j + 1 :] if b.lang == "text"), None)
                    example.expected = out.text.splitlines() if out else None
            elif later.lang == "csv" and names:
                example.tables[names.pop(0)] = later.text
        found.append(example)
    return found


EXAMPLES = [example for page in PAGES for example in _examples(page)]


def test_the_pages_hold_examples_to_test() -> None:
    assert len(EXAMPLES) >= 4
    assert any(e.expected for e in EXAMPLES)  # docs/rules/README.md's replay example
    assert any(e.expected and e.recorded for e in EXAMPLES)  # fill.md's, order.md's


def test_every_page_is_listed_in_the_index() -> None:
    index = (DOCS / "README.md").read_text()
    unlisted = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and p.name not in index]
    assert unlisted == [], f"list these pages in docs/rules/README.md: {unlisted}"


def _load(example: Example, tmp_path: Path) -> RuleSet:
    for name, text in example.tables.items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "example.yaml"
    path.write_text(example.text)
    return load_rules([path], CheckEnv(), VENUES)


def _through_levels(ruleset: RuleSet) -> str:
    """A CSV path that starts below every level of each price series, goes above them all and
    comes back below: every price rule's condition holds on it at least once."""
    levels: dict[tuple[str, str, str], list[Decimal]] = {}
    for rule in ruleset.of(PriceRule):
        levels.setdefault((rule.venue, rule.market, rule.source), []).append(rule.level)
    rows = ["ts,market,price,venue,source"]
    ms = T0
    for (venue, market, source), found in sorted(levels.items()):
        low, high = min(found), max(found)
        margin = max(abs(high), abs(low), Decimal(1)) / 10
        for price in (low - margin, high + margin, low - margin):
            rows.append(f"{ms},{market},{format(price, 'f')},{venue},{source}")
            ms += 1000
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_the_example_loads_and_replays(example: Example, tmp_path: Path) -> None:
    ruleset = _load(example, tmp_path)
    if example.path is not None:
        assert example.expected is not None, f"{example.where}: a path needs a ```text output"
        name = f"{example.where} path"
        entries = (
            read_recording(name, example.path)
            if example.recorded
            else read_path(name, example.path, VENUES)
        )
        fired, _ = replay_entries(ruleset, entries)
        assert [f.line() for f in fired] == example.expected
        return
    entries = read_path(f"{example.where} levels", _through_levels(ruleset), VENUES)
    fired, engine = replay_entries(ruleset, entries)
    assert engine.undecodable == 0
    price_rules = {rule.name for rule in ruleset.of(PriceRule)}
    assert price_rules <= {f.rule for f in fired}
