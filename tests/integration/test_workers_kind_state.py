"""The kind state seam: a stateful kind's per-stream state is loaded with the stream's lock,
saved with each batch's XACK, and follows the stream to another worker; a worker keeps the state
of a stream it held last for its next job there, as long as nobody else saved it
(workers/held.py)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
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
from workers.state import load_table

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
    """Counts each rule's rising ticks in a KindState: its own (unbound), or a stream's. It
    counts its binds, raises once at the price `bomb` (after counting it), if set, and calls
    `meanwhile` once on its next tick, if set (another writer between a load and a save)."""

    binds = 0
    bomb: Decimal | None = None
    meanwhile: Callable[[], object] | None = None

    def __init__(self, rules: tuple[StreakRule, ...], retired: set[int], state: KindState) -> None:
        self.rules = rules
        self.retired = retired
        self.state = state

    def bind(self, state: KindState) -> StreakMatcher:
        StreakMatcher.binds += 1
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
            if StreakMatcher.meanwhile is not None:
                StreakMatcher.meanwhile()
                StreakMatcher.meanwhile = None
            if now == StreakMatcher.bomb:
                StreakMatcher.bomb = None
                raise RuntimeError("bomb")
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
    monkeypatch.setattr(StreakMatcher, "binds", 0)
    monkeypatch.setattr(StreakMatcher, "bomb", None)
    monkeypatch.setattr(StreakMatcher, "meanwhile", None)
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
    return load_table(cast(Any, raw))


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


def test_a_worker_keeps_the_state_of_the_stream_it_held_last(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101)
    assert evaluate_stream(r, STREAM, ctx) == 2
    assert StreakMatcher.binds == 1
    token = r.get(keys.state_token(STREAM))
    assert token is not None
    assert STREAM in ctx.streams
    # Its next jobs find their own token: no load, no bind, and the streak goes on.
    _add(r, 102)
    assert evaluate_stream(r, STREAM, ctx) == 1
    _add(r, 103)
    assert evaluate_stream(r, STREAM, ctx) == 1
    assert StreakMatcher.binds == 1
    assert _fired(r) == 1
    assert _state(r) == {streak.id: "3"}
    assert r.get(keys.state_token(STREAM)) != token  # each save writes its own


def test_another_holders_save_makes_the_first_worker_load_the_state_again(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    first, second = _worker(tmp_path, streak), _worker(tmp_path, streak)
    _add(r, 100, 101)
    evaluate_stream(r, STREAM, first)  # first keeps a streak of 1
    _add(r, 102)
    evaluate_stream(r, STREAM, second)  # second loads it and saves 2
    assert _state(r) == {streak.id: "2"}
    # The first worker's kept streak (1) is stale: it must load 2, so that 103 fires.
    _add(r, 103)
    assert evaluate_stream(r, STREAM, first) == 1
    assert _fired(r) == 1
    assert _state(r) == {streak.id: "3"}
    assert StreakMatcher.binds == 3  # first, second, first again


def test_a_save_by_another_writer_during_a_drain_is_not_kept(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101)
    evaluate_stream(r, STREAM, ctx)
    # While the worker's next job evaluates (its kept state in use), a holder whose lock had
    # expired saves: the job's own save finds that holder's token, not the one it expected.
    StreakMatcher.meanwhile = lambda: r.set(keys.state_token(STREAM), "someone-else")
    _add(r, 102)
    evaluate_stream(r, STREAM, ctx)
    assert StreakMatcher.binds == 1  # the job used the kept state...
    assert STREAM not in ctx.streams  # ...and did not keep it
    _add(r, 103)
    evaluate_stream(r, STREAM, ctx)
    assert StreakMatcher.binds == 2  # the next job loaded the state again


def test_a_failed_batch_leaves_no_state_behind_it(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101)
    evaluate_stream(r, STREAM, ctx)
    assert _state(r) == {streak.id: "1"}
    # The batch counts 102 and 104 in memory (a streak of 3), then raises before its save.
    StreakMatcher.bomb = Decimal(104)
    _add(r, 102, 104)
    with pytest.raises(RuntimeError, match="bomb"):
        evaluate_stream(r, STREAM, ctx)
    assert STREAM not in ctx.streams
    assert _state(r) == {streak.id: "1"}
    assert _fired(r) == 0
    # The next job evaluates the pending batch from the saved streak, not from memory's 3.
    assert evaluate_stream(r, STREAM, ctx) == 2
    assert _state(r) == {streak.id: "3"}
    assert _fired(r) == 1


def test_new_rules_bind_the_state_afresh(
    r: redis.Redis, tmp_path: Path, streak: StreakRule
) -> None:
    ctx = _worker(tmp_path, streak)
    _add(r, 100, 101)
    evaluate_stream(r, STREAM, ctx)
    assert Context.build(ctx.ruleset, ctx).streams is not ctx.streams  # a reload's Context
    # Even with the same cache, another dispatch (other rules) never gets the kept state.
    book = StreakBook()
    book.add(streak)
    reloaded = dataclasses.replace(ctx, dispatch=Dispatch({**ctx.ruleset.books, "streak": book}))
    assert reloaded.streams is ctx.streams
    _add(r, 102, 103)
    assert evaluate_stream(r, STREAM, reloaded) == 2
    assert StreakMatcher.binds == 2
    assert _fired(r) == 1
    assert _state(r) == {streak.id: "3"}
