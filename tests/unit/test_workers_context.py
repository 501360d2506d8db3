"""The worker's loaded rules: installed once, reloaded when a new rules version is published in
Redis and the files here load to it, kept when they do not; never reloaded on a file's mtime."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis

from klaxon.redis_server import free_port
from rules.base import Series
from rules.book import PriceBook
from rules.fill import FillRule
from rules.index import PriceIndex
from rules.kinds import Book, Matcher
from rules.load import RuleSet, load_rules
from rules.price import PriceRule
from watcher import keys
from watcher.errors import ConfigError
from watcher.events import Event
from watcher.published import publish
from workers import context

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: btc-up
    price: {{market: BTC-USDT, crosses_up: "{level}"}}
    notify: [desk]
"""


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    context.uninstall()
    yield
    context.uninstall()


def _write(path: Path, level: str) -> Path:
    path.write_text(RULES.format(level=level))
    return path


def _publish(r: redis.Redis, *paths: Path) -> str:
    """Publish what the files hold now, as `klaxon reload` does; return the version."""
    ruleset = load_rules(list(paths))
    publish(r, ruleset.version, ruleset.markets())
    return ruleset.version


def _level(r: redis.Redis | None = None) -> str:
    return str(context.current(r).ruleset.of(PriceRule)[0].level)


def _index(installed: context.Context) -> PriceIndex:
    index = installed.dispatch.matchers[PriceRule.KIND]
    assert isinstance(index, PriceIndex)
    return index


def test_no_rules_installed_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no rules installed"):
        context.current()


def test_install_compiles_the_ruleset(tmp_path: Path) -> None:
    ruleset = load_rules([_write(tmp_path / "r.yaml", "65000")])
    installed = context.install(ruleset)
    assert context.current() is installed
    index = _index(installed)
    assert index.candidates("okx", "BTC-USDT", "last", None, Decimal(65000), 0) == []
    assert index.candidates("okx", "BTC-USDT", "last", Decimal(64999), Decimal(65000), 0) == [0]


def test_edited_files_are_not_reloaded_until_their_version_is_published(
    tmp_path: Path, r: redis.Redis
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.follow([path], interval=0)
    _write(path, "70000.5")
    assert _level(r) == "65000"
    assert _level(r) == "65000"
    _publish(r, path)
    assert _level(r) == "70000.5"


def test_the_published_version_is_read_at_most_once_per_interval(
    tmp_path: Path, r: redis.Redis
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.follow([path], interval=3600)
    assert _level(r) == "65000"  # the first look
    _write(path, "70000.5")
    _publish(r, path)
    assert _level(r) == "65000"


def test_without_a_client_current_reads_nothing(tmp_path: Path, r: redis.Redis) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.follow([path], interval=0)
    _write(path, "70000.5")
    _publish(r, path)
    assert _level() == "65000"
    assert _level(r) == "70000.5"


def test_a_published_version_whose_files_do_not_load_here_keeps_the_running_rules(
    tmp_path: Path, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    running = context.follow([path], interval=0).ruleset.version
    _write(path, "66000")
    published = _publish(r, path)
    # The files break between the publication and this worker's look (another machine's files).
    path.write_text(RULES.format(level="65000").replace("notify: [desk]", "notify: [nowhere]"))
    caplog.set_level(logging.INFO, logger="workers.context")
    assert _level(r) == "65000"
    assert _level(r) == "65000"
    errors = [rec.getMessage() for rec in caplog.records if rec.levelno == logging.ERROR]
    assert (
        errors
        == [  # once per published version, however often the worker looks
            f"rules version {published[:12]} is published but the rule files here do not load; "
            f"keeping version {running[:12]}",
            f"{path}:6: notify: unknown channel 'nowhere'; channels: desk",
        ]
    )
    _write(path, "71000.25")
    _publish(r, path)
    assert _level(r) == "71000.25"


def test_a_published_version_other_than_the_files_keeps_the_running_rules(
    tmp_path: Path, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    running = context.follow([path], interval=0).ruleset.version
    _write(path, "66000")
    published = _publish(r, path)
    held = load_rules([_write(path, "67000")]).version  # changed again since the publication
    caplog.set_level(logging.ERROR, logger="workers.context")
    assert _level(r) == "65000"
    assert _level(r) == "65000"
    assert [rec.getMessage() for rec in caplog.records] == [
        f"rules version {published[:12]} is published but the rule files here hold version "
        f"{held[:12]}; keeping version {running[:12]} (`klaxon reload` publishes the files)"
    ]


def test_a_reload_whose_channel_apprise_cannot_use_keeps_the_running_rules(
    tmp_path: Path, r: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.follow([path], interval=0)
    path.write_text(RULES.format(level="66000").replace("json://127.0.0.1:9/hook", "nosuch://x"))
    _publish(r, path)  # loads: apprise is asked only by load_usable, as `klaxon reload` does
    assert _level(r) == "65000"
    assert f"{path}:2: channel 'desk': apprise does not support scheme 'nosuch'" in caplog.text


def test_an_unreachable_redis_keeps_the_running_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.follow([path], interval=0)
    nowhere = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    assert _level(nowhere) == "65000"
    assert "cannot read the published rules version: ConnectionError" in caplog.text


def test_cooldown_knowledge_survives_a_reload(tmp_path: Path, r: redis.Redis) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    first = context.follow([path], interval=0)
    first.cooldown_until["some-rule"] = 123.0
    _write(path, "66000.5")
    _publish(r, path)
    assert context.current(r) is not first
    assert context.current(r).cooldown_until == {"some-rule": 123.0}


def test_follow_refuses_files_that_do_not_load(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULES.format(level="not-a-number"))
    with pytest.raises(ConfigError) as caught:
        context.follow([path])
    assert all(e.startswith(f"{path}:") for e in caught.value.errors)
    with pytest.raises(ConfigError, match="no rules installed"):
        context.current()


def test_a_loaded_ruleset_is_taken_as_the_files_content(tmp_path: Path, r: redis.Redis) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    ruleset = load_rules([path])
    assert context.follow([path], interval=0, loaded=ruleset).ruleset is ruleset
    _publish(r, path)  # the version it runs: nothing to do
    assert context.current(r).ruleset is ruleset
    _write(path, "66000.5")
    _publish(r, path)
    assert _level(r) == "66000.5"


TABLE_RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
tables:
  - file: levels.csv
    notify: [desk]
"""


def _table(path: Path, level: str) -> Path:
    path.write_text(f"name,market,op,level\nbtc-up,BTC-USDT,crosses_up,{level}\n")
    return path


def test_a_published_table_change_is_reloaded(tmp_path: Path, r: redis.Redis) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(TABLE_RULES)
    _table(tmp_path / "levels.csv", "65000")
    installed = context.follow([path], interval=0)
    index = _index(installed)
    assert index.candidates("okx", "BTC-USDT", "last", Decimal(1), Decimal(65000), 0) == [0]
    _table(tmp_path / "levels.csv", "70000.5")  # the rule file's bytes are unchanged
    _publish(r, path)
    assert _level(r) == "70000.5"


class _Window:
    """A fill matcher with in-memory state that a reload must hand on (as a hold timer)."""

    def __init__(self) -> None:
        self.state: dict[str, int] = {}
        self.adopted: list[tuple[Matcher, Book[Any], Book[Any]]] = []

    def match(self, event: Event) -> list[int]:
        return []

    def retire(self, position: int) -> None:
        pass

    def adopt(self, previous: Matcher, previous_book: Book[Any], book: Book[Any]) -> None:
        assert isinstance(previous, _Window)
        self.state = dict(previous.state)
        self.adopted.append((previous, previous_book, book))


class _WindowBook:
    """An empty fill book whose matcher is a _Window."""

    def add(self, rule: FillRule) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        return 0

    def __getitem__(self, position: int) -> FillRule:
        raise IndexError(position)

    def __iter__(self) -> Iterator[FillRule]:
        return iter(())

    def markets(self) -> set[Series]:
        return set()

    def venues(self) -> set[str]:
        return set()

    def matcher(self) -> _Window:
        return _Window()


def _windowed(version: str) -> RuleSet:
    return RuleSet(
        channels={}, books={"price": PriceBook(), "fill": _WindowBook()}, version=version
    )


def test_a_matcher_that_adopts_takes_over_the_previous_matchers_state() -> None:
    first = context.install(_windowed("v1"))
    window = first.dispatch.matchers["fill"]
    assert isinstance(window, _Window)
    window.state["rule-a"] = 7
    second = context.install(_windowed("v2"))
    adopted = second.dispatch.matchers["fill"]
    assert isinstance(adopted, _Window)
    assert adopted is not window
    assert adopted.state == {"rule-a": 7}
    assert adopted.adopted == [(window, first.ruleset.books["fill"], second.ruleset.books["fill"])]


@pytest.mark.parametrize(
    ("evaluates", "places", "tolerant"),
    [
        ((keys.ACCOUNTS_QUEUE,), False, True),  # the accounts,notify worker
        ((), False, True),  # a notify-only worker
        ((keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE), False, False),  # ticker streams: triggers
        ((keys.ACCOUNTS_QUEUE,), True, False),  # places queued orders
    ],
)
def test_only_a_worker_without_ticker_streams_or_orders_is_latency_tolerant(
    tmp_path: Path, evaluates: tuple[str, ...], places: bool, tolerant: bool
) -> None:
    installed = context.install(load_rules([_write(tmp_path / "rules.yaml", "60000")]))
    installed.evaluates, installed.places = evaluates, places
    assert installed.latency_tolerant() is tolerant
