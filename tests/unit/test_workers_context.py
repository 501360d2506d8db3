"""The worker's loaded rules: installed once, reloaded when the files change, kept when bad."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rules.index import PriceIndex
from rules.load import load_rules
from rules.price import PriceRule
from watcher.errors import ConfigError
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


def _level() -> str:
    return str(context.current().ruleset.of(PriceRule)[0].level)


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
    assert index.candidates("okx", "BTC-USDT", "last", None, Decimal(65000)) == []
    assert index.candidates("okx", "BTC-USDT", "last", Decimal(64999), Decimal(65000)) == [0]


def test_changed_files_are_reloaded(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.watch([path], interval=0)
    assert _level() == "65000"
    _write(path, "70000.5")
    assert _level() == "70000.5"


def test_reload_waits_for_the_interval(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.watch([path], interval=3600)
    _write(path, "70000.5")
    assert _level() == "65000"


def test_a_file_that_breaks_keeps_the_running_rules_and_logs_each_error_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.watch([path], interval=0)
    path.write_text(RULES.format(level="65000").replace("notify: [desk]", "notify: [nowhere]"))
    caplog.set_level(logging.INFO, logger="workers.context")
    assert _level() == "65000"
    assert _level() == "65000"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "rule files changed but do not load; keeping the running rules",
        f"{path}:6: notify: unknown channel 'nowhere'; channels: desk",
    ]
    _write(path, "71000.25")  # another size: mtime may not have moved
    assert _level() == "71000.25"


def test_cooldown_knowledge_survives_a_reload(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    first = context.watch([path], interval=0)
    first.cooldown_until["some-rule"] = 123.0
    _write(path, "66000.5")
    assert context.current() is not first
    assert context.current().cooldown_until == {"some-rule": 123.0}


def test_a_reload_whose_channel_apprise_cannot_use_keeps_the_running_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    context.watch([path], interval=0)
    path.write_text(RULES.format(level="66000").replace("json://127.0.0.1:9/hook", "nosuch://x"))
    assert _level() == "65000"
    assert f"{path}:2: channel 'desk': apprise does not support scheme 'nosuch'" in caplog.text


def test_watch_refuses_files_that_do_not_load(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(RULES.format(level="not-a-number"))
    with pytest.raises(ConfigError) as caught:
        context.watch([path])
    assert all(e.startswith(f"{path}:") for e in caught.value.errors)
    with pytest.raises(ConfigError, match="no rules installed"):
        context.current()


def test_a_loaded_ruleset_can_be_watched_from_its_files(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    ruleset = load_rules([path])
    assert context.watch([path], interval=0, loaded=ruleset).ruleset is ruleset
    assert context.current().ruleset is ruleset  # unchanged files: no reload
    _write(path, "66000.5")
    assert _level() == "66000.5"


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


def test_a_changed_table_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(TABLE_RULES)
    _table(tmp_path / "levels.csv", "65000")
    installed = context.watch([path], interval=0)
    index = _index(installed)
    assert index.candidates("okx", "BTC-USDT", "last", Decimal(1), Decimal(65000)) == [0]
    _table(tmp_path / "levels.csv", "70000.5")
    assert _level() == "70000.5"


def test_a_table_created_after_a_failed_load_is_loaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(TABLE_RULES)
    table = _table(tmp_path / "levels.csv", "65000")
    context.watch([path], interval=0)
    table.unlink()
    caplog.set_level(logging.ERROR, logger="workers.context")
    assert _level() == "65000"
    assert f"{path}:4: file: cannot read table '{table}': No such file or directory" in caplog.text
    _table(table, "66000.5")  # the rule file is untouched: only the table it names appears
    assert _level() == "66000.5"


def test_files_that_fail_are_not_loaded_again_until_they_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    files = context.RuleFiles([path], interval=0)
    files.load()
    path.write_text(RULES.format(level="bad"))
    caplog.set_level(logging.ERROR, logger="workers.context")
    assert files.reload_if_changed() is None
    assert not files.changed()  # the failed files' stamps are what is watched now
    assert files.reload_if_changed() is None
    assert caplog.text.count("do not load") == 1
    _write(path, "67000.25")
    reloaded = files.reload_if_changed()
    assert reloaded is not None
    assert str(reloaded.of(PriceRule)[0].level) == "67000.25"


def test_a_loaded_ruleset_stamped_before_a_change_is_reloaded(tmp_path: Path) -> None:
    path = _write(tmp_path / "r.yaml", "65000")
    ruleset = load_rules([path])
    _write(path, "68000.5")  # changed after it was read, before the worker watches it
    context.watch([path], interval=0, loaded=ruleset)
    assert _level() == "68000.5"
