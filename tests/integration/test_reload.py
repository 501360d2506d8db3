"""Reload end to end: `klaxon reload` publishes a version, running rq workers (burst, in process)
pick it up from Redis and fire on the new rules; a bad version is refused whole; once-claims,
cooldowns and every-claims of rules whose id did not change survive the reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue

from klaxon.cli import main
from tests.integration.test_workers_harness import (
    CROSS_UP,
    FILL_EVERY,
    STREAM,
    Klaxon,
    harness,
    ticks_data,
)
from tests.waiting import wait_until
from watcher import keys
from watcher.published import published_version, read_published
from workers import context, pace
from workers.evaluate import evaluate_stream
from workers.pace import BATCH

ETH_DOWN = """\
  - name: eth-down
    price: {market: ETH-USDT, crosses_down: "3000"}
    notify: [desk]
    message: "{market} {op} {level} at {price}"
"""

BTC_HIGH = """\
  - name: btc-high
    price: {market: BTC-USDT, above: "65000"}
    notify: [desk]
    cooldown: 1h
    message: "{market} high at {price}"
"""


@pytest.fixture
def kx(redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Klaxon]:
    monkeypatch.setenv("KLAXON_REDIS_URL", redis_url)
    monkeypatch.delenv("KLAXON_ACCOUNTS", raising=False)
    with harness(redis_url, tmp_path) as k:
        yield k


def _rewrite(kx: Klaxon, rules_yaml: str) -> Path:
    """Change the rule file on disk (the worker must not notice by itself)."""
    path = kx.paths[0]
    head = path.read_text().split("rules:\n", 1)[0]
    path.write_text(f"{head}rules:\n{rules_yaml}")
    return path


def _reload(kx: Klaxon, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `klaxon reload` on the rule file; wait until the worker's rules are its version."""
    assert main(["reload", str(kx.paths[0])]) == 0
    assert capsys.readouterr().out.startswith("published rules version ")
    version = published_version(kx.r)
    assert version is not None
    # The worker looks at most once a second, from its jobs; this is the same look.
    wait_until(lambda: context.current(kx.r).ruleset.version == version, 5, "the reload")
    return version


def test_a_published_version_reaches_the_worker_and_fired_rules_stay_fired(
    kx: Klaxon, capsys: pytest.CaptureFixture[str]
) -> None:
    kx.rules(CROSS_UP + BTC_HIGH + FILL_EVERY)
    kx.ticks("64990.5", "65010.25")
    kx.fill("t-1")
    kx.work()
    before = [
        "BTC-USDT crossed above 65000 at 65010.25 (prev 64990.5)",
        "BTC-USDT high at 65010.25",
        "buy 0.010 BTC-USDT @ 65000.1 fee -0.0065 USDT trade t-1",
    ]
    assert kx.messages() == before
    running = context.current(kx.r)
    _rewrite(kx, CROSS_UP + BTC_HIGH + FILL_EVERY + ETH_DOWN)
    kx.ticks("3001", market="ETH-USDT")
    kx.work()
    assert context.current(kx.r) is running  # an edited file is not a published version

    version = _reload(kx, capsys)
    assert context.current(kx.r) is not running
    published = read_published(kx.r)
    assert published is not None
    assert published.series == {("okx", "BTC-USDT", "last"), ("okx", "ETH-USDT", "last")}
    kx.ticks("64000", "66000")  # btc-up crosses again: fired for good; btc-high: cooling down
    kx.ticks("2999", market="ETH-USDT")  # the new rule
    kx.fill("t-1")  # the same trade again (a backfill): fired once already
    kx.fill("t-2")
    kx.work()
    assert kx.messages() == [
        *before,
        "ETH-USDT crossed below 3000 at 2999",
        "buy 0.010 BTC-USDT @ 65000.1 fee -0.0065 USDT trade t-2",
    ]
    assert context.current(kx.r).ruleset.version == version


def test_an_edited_rule_is_a_new_rule_armed_afresh(
    kx: Klaxon, capsys: pytest.CaptureFixture[str]
) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "65010")
    kx.work()
    _rewrite(kx, CROSS_UP.replace("(prev {prev})", "(was {prev})"))
    _reload(kx, capsys)
    kx.ticks("64000", "65500")
    kx.work()
    assert kx.messages() == [
        "BTC-USDT crossed above 65000 at 65010 (prev 64990)",
        "BTC-USDT crossed above 65000 at 65500 (was 64000)",
    ]


def test_a_cooldown_runs_on_in_a_fresh_worker_after_a_reload(
    kx: Klaxon, capsys: pytest.CaptureFixture[str]
) -> None:
    kx.rules(BTC_HIGH)
    kx.ticks("65100")
    kx.work()
    _rewrite(kx, BTC_HIGH + ETH_DOWN)
    _reload(kx, capsys)
    context.uninstall()  # a worker started after the reload: only Redis remembers the cooldown
    kx.rules(BTC_HIGH + ETH_DOWN)
    kx.ticks("65200")
    kx.work()
    assert kx.messages() == ["BTC-USDT high at 65100"]


def test_a_bad_version_is_refused_whole_and_the_running_one_stays(
    kx: Klaxon, capsys: pytest.CaptureFixture[str]
) -> None:
    kx.rules(CROSS_UP)
    first = _reload(kx, capsys)
    path = _rewrite(kx, ETH_DOWN + CROSS_UP.replace('"65000"', "sixty-five"))
    assert main(["reload", str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{path}:9: price.crosses_up: 'sixty-five' is not a decimal number"]
    assert published_version(kx.r) == first
    kx.ticks("2999", market="ETH-USDT")
    kx.ticks("64990", "65010")
    kx.work()
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]


def test_a_job_that_never_runs_dry_goes_on_in_a_new_job_with_the_reloaded_rules(
    kx: Klaxon, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    kx.rules(CROSS_UP)
    running = context.follow(kx.paths, interval=0.0)  # reads the version at every look
    with kx.r.pipeline(transaction=False) as pipe:  # more than two reads: a stream never dry
        for i in range(2 * BATCH + 10):
            pipe.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": ticks_data(str(64000 + i))})
        pipe.execute()
    _rewrite(kx, CROSS_UP + ETH_DOWN)
    assert main(["reload", str(kx.paths[0])]) == 0
    capsys.readouterr()
    monkeypatch.setattr(pace, "RELOAD_CHECK_SECONDS", 0.0)  # ask after every batch
    assert evaluate_stream(kx.r, STREAM, running) == BATCH  # one batch, then the new rules
    assert context.current(kx.r) is not running
    assert context.current(kx.r).ruleset.version == published_version(kx.r)
    (job,) = Queue(keys.EVALUATE_QUEUE, connection=kx.r).get_jobs()
    assert job.args == (STREAM,)  # the stream goes on in a job of its own
    assert kx.r.xinfo_groups(STREAM)[0]["lag"] == BATCH + 10  # the rest waits for that job
