"""The kind state seam: a stateful kind's per-stream state is loaded with the stream's lock,
saved with each batch's XACK, and follows the stream to another worker."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, cast

import pytest
import redis
import yaml
from rq import Queue

from rules import kinds
from rules.base import Cooldown, Every, Once, Rule
from rules.kinds import KINDS, TICKER, Dispatch, Kind, KindState
from rules.load import load_rules
from rules.reader import Reader
from rules.scan import ScanBook
from rules.template import Template
from watcher import keys
from watcher.events import TickRow, encode_ticks
from workers import context
from workers.context import Context
from workers.evaluate import evaluate_stream
from workers.state import decode_hash

STREAM = keys.ticks_stream(1)
RULES = 'channels:\n  desk: "json://127.0.0.1:9/hook"\nrules: []\n'


class StreakRule(Rule):
    """Fire when `market` has risen `ticks` times in a row (test kind: state per rule id)."""

    KIND: ClassVar[str] = "streak"
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Once()

    market: str
    ticks: int

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        raise NotImplementedError  # built in the test, never read from a file

    def render_tick(self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str) -> str:
        return f"{self.market} rose {self.ticks} times to {now}"


class StreakMatcher:
    """Counts each rule's rising ticks in a KindState: its own (unbound), or a stream's."""

    def __init__(self, rules: tuple[StreakRule, ...], retired: set[int], state: KindState) -> None:
        self.rules = rules
        self.retired = retired
        self.state = state

    def bind(self, state: KindState) -> StreakMatcher:
        return StreakMatcher(self.rules, self.retired, state)

    def retire(self, position: int) -> None:
        self.retired.add(position)

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        found = []
        for position, rule in enumerate(self.rules):
            if rule.market != market or position in self.retired or prev is None:
                continue
            if now <= prev:
                self.state.delete(rule.id)  # the streak is broken: nothing to keep
                continue
            streak = int(self.state.get(rule.id) or 0) + 1
            self.state.set(rule.id, str(streak))
            if streak >= rule.ticks:
                found.append(position)
        return found


class StreakBook(ScanBook[StreakRule]):
    """The test kind's book: its matcher keeps state."""

    def matcher(self) -> StreakMatcher:  # type: ignore[override]
        return StreakMatcher(tuple(self), set(), KindState())


@pytest.fixture
def streak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StreakRule]:
    """Register the streak kind for this test; return its one rule (3 rising ticks)."""
    registry = {**KINDS, "streak": Kind(StreakRule, StreakBook, (TICKER,))}
    monkeypatch.setattr(kinds, "KINDS", MappingProxyType(registry))
    rule = StreakRule.create(
        name="btc-streak",
        channels=("desk",),
        message=Template("{rule}", frozenset(("rule",))),
        repeat=Once(),
        where="test",
        market="BTC-USDT",
        ticks=3,
    )
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    yield rule
    context.uninstall()


def _worker(tmp_path: Path, rule: StreakRule) -> Context:
    """A fresh worker's context: the rule file's rules plus the streak rule."""
    ruleset = load_rules([tmp_path / "rules.yaml"])
    book = StreakBook()
    book.add(rule)
    books = {**ruleset.books, "streak": book}
    return Context(ruleset=ruleset, dispatch=Dispatch(books))


def _add(r: redis.Redis, *prices: int) -> None:
    ms = int(time.time() * 1000)
    with r.pipeline(transaction=False) as pipe:
        for price in prices:
            rows: list[TickRow] = [("BTC-USDT", "last", str(price), "", "", ms)]
            pipe.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(rows)})
        pipe.execute()


def _state(r: redis.Redis) -> dict[str, str]:
    raw = cast(dict[bytes, bytes], r.hgetall(keys.kind_state(STREAM, "streak")))
    return decode_hash(cast(Any, raw))


def _fired(r: redis.Redis) -> int:
    return Queue(keys.NOTIFY_QUEUE, connection=r).count


def test_state_follows_the_stream_to_another_worker(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    first = _worker(tmp_path, streak)
    assert first.dispatch.stateful == ("streak",)
    _add(r, 100, 101, 102)  # two rises
    assert evaluate_stream(r, STREAM, first) == 3
    assert _state(r) == {streak.id: "2"}
    assert _fired(r) == 0
    # Another worker, which never saw those ticks, takes the stream: the third rise fires.
    second = _worker(tmp_path, streak)
    _add(r, 103)
    assert evaluate_stream(r, STREAM, second) == 1
    assert _fired(r) == 1
    assert _state(r) == {streak.id: "3"}


def test_a_deleted_field_is_deleted_in_redis(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101)
    evaluate_stream(r, STREAM, ctx)
    assert _state(r) == {streak.id: "1"}
    _add(r, 99)  # a fall ends the streak: the field goes
    evaluate_stream(r, STREAM, ctx)
    assert _state(r) == {}
    assert not r.exists(keys.kind_state(STREAM, "streak"))


def test_a_dead_evaluators_batch_is_evaluated_again_from_the_saved_state(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101, 102)
    evaluate_stream(r, STREAM, ctx)
    assert _state(r) == {streak.id: "2"}
    # A worker reads the next ticks and dies before its batch's MULTI: neither their XACK
    # nor the state they moved is stored, and it had counted them in its own memory.
    _add(r, 103, 90)
    r.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"})
    dead = ctx.dispatch.bound({"streak": KindState(_state(r))})
    dead.ticks.candidates("okx", "BTC-USDT", "last", Decimal(102), Decimal(103), 0)
    assert _state(r) == {streak.id: "2"}
    # The next holder re-evaluates the pending entries from the saved state: 103 fires.
    assert evaluate_stream(r, STREAM, _worker(tmp_path, streak)) == 2
    assert _fired(r) == 1
    assert _state(r) == {}  # then 90 broke the streak
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_kinds_without_state_are_not_bound_and_keep_no_hash(r: redis.Redis, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        RULES.replace(
            "rules: []",
            'rules:\n  - {name: up, price: {market: BTC-USDT, crosses_up: "101"}, notify: desk}',
        )
    )
    ctx = Context.build(load_rules([path]))
    assert ctx.dispatch.stateful == ()
    assert ctx.dispatch.bound({}) is ctx.dispatch
    _add(r, 100, 102)
    assert evaluate_stream(r, STREAM, ctx) == 2
    assert _fired(r) == 1
    assert not list(r.scan_iter(keys.kind_state("*", "*")))
