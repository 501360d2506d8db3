"""`klaxon watch` as a process: at a first start it publishes its rule files' version and
subscribes to its series; SIGHUP publishes the edited files and the public feed follows; a bad
file on SIGHUP is refused whole, logged with its file:line, and the running version stays."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from rules.load import load_rules
from simulator import Simulator
from tests.integration.sim_client import _config, _state
from tests.waiting import wait_until
from watcher.published import published_version, read_published

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: btc-up
    price: {market: BTC-USDT, crosses_up: "65000"}
    notify: [desk]
"""
ETH = """\
  - name: eth-down
    price: {market: ETH-USDT, crosses_down: "3000"}
    notify: [desk]
"""


def _subscribed(sim: Simulator) -> list[list[str]]:
    clients = _state(sim)["clients"]["public"]
    return [sorted(s["instId"] for s in c["subscriptions"]) for c in clients]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(_config()) as running:
        yield running


def test_watch_publishes_at_first_start_and_on_sighup(
    sim: Simulator, redis_url: str, r: redis.Redis, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env |= {
        "KLAXON_REDIS_URL": redis_url,
        "KLAXON_RULES": json.dumps([str(rules)]),
        "KLAXON_OKX_WS_PUBLIC_URL": sim.ws_public_url,
        "KLAXON_OKX_REST_URL": sim.base_url,
        "KLAXON_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "klaxon", "watch"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        first = load_rules([rules]).version
        wait_until(lambda: published_version(r) == first, 30, "the first start's publication")
        wait_until(lambda: _subscribed(sim) == [["BTC-USDT"]], 15, "the BTC-USDT subscription")

        rules.write_text(RULES + ETH)
        second = load_rules([rules]).version
        proc.send_signal(signal.SIGHUP)
        wait_until(lambda: published_version(r) == second, 30, "SIGHUP's publication")
        published = read_published(r)
        assert published is not None
        assert published.series == {("okx", "BTC-USDT", "last"), ("okx", "ETH-USDT", "last")}
        wait_until(
            lambda: _subscribed(sim) == [["BTC-USDT", "ETH-USDT"]], 15, "the new subscription"
        )

        rules.write_text(RULES + ETH.replace('"3000"', "three-k"))
        proc.send_signal(signal.SIGHUP)
        error = f"{rules}:8: price.crosses_down: 'three-k' is not a decimal number"
        wait_until(lambda: error in log.read_text(), 30, "the refusal in the log")
        assert "rule files not published; the version in force stays" in log.read_text()
        assert published_version(r) == second
        assert _subscribed(sim) == [["BTC-USDT", "ETH-USDT"]]
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
    assert code == 0, log.read_text()
