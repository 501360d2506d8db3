"""Several accounts in one watcher, wired from KLAXON_ACCOUNTS against the simulator: each its own
connections, publisher and private stream.

The simulator knows one API key, so both accounts use it, each under its own label and variables
(KLAXON_OKX_* and KLAXON_OKX_HEDGE_*): one order then fills on both accounts' streams.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from klaxon.wiring import Account
from simulator import Simulator
from tests.integration.sim_client import account_env
from tests.integration.wired import build, running
from tests.waiting import wait_until
from watcher import keys
from watcher.events import FeedStatus, Fill, decode_event, decode_ticks
from watcher.service import Watcher

RULES = """\
channels:
  desk: "json://127.0.0.1:9/alerts"
rules:
  - {name: btc, notify: desk, price: {market: BTC-USDT, above: "1"}}
  - {name: fills, notify: desk, fill: {account: hedge}}
"""
ACCOUNTS = [
    {"venue": "okx", "account": "main"},
    {"venue": "okx", "account": "hedge", "env_prefix": "KLAXON_OKX_HEDGE_"},
]


def _data(r: redis.Redis, stream: str) -> list[bytes]:
    """The `d` field of a stream's entries, oldest first."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    return [fields[b"d"] for _, fields in entries]


def _events(r: redis.Redis, stream: str) -> list[Any]:
    return [decode_event(data) for data in _data(r, stream)]


def _private_clients(sim: Simulator) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{sim.base_url}/sim/state", timeout=2) as resp:
        clients: list[dict[str, Any]] = json.load(resp)["clients"]["private"]
    return clients


@pytest.fixture
def wired(
    sim: Simulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[list[Account], list[Watcher]]]:
    """The accounts and watchers `klaxon watch` builds for two OKX accounts, running."""
    env = {"KLAXON_REDIS_URL": redis_url, "KLAXON_ACCOUNTS": json.dumps(ACCOUNTS)}
    env |= account_env(sim, "KLAXON_OKX_") | account_env(sim, "KLAXON_OKX_HEDGE_")
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    configured, built = build(monkeypatch, env, path)
    with running(built):
        yield configured, built


def test_two_accounts_each_publish_to_their_own_private_stream(
    wired: tuple[list[Account], list[Watcher]], sim: Simulator, r: redis.Redis
) -> None:
    configured, (main, hedge) = wired
    # The venue's market data once, with the first account; a private feed per account.
    assert [s.feed.name for s in main.streams] == ["public", "private"]
    assert [s.feed.name for s in hedge.streams] == ["private"]
    assert (main.publisher.account, hedge.publisher.account) == ("main", "hedge")
    streams = [keys.private_stream("okx", "main"), keys.private_stream("okx", "hedge")]
    wait_until(
        lambda: (
            len(clients := _private_clients(sim)) == 2
            and all(c["loggedIn"] and c["subscriptions"] for c in clients)
        ),
        10,
        "both private feeds to log in and subscribe",
    )
    placed = configured[1].venue.trading().place_order("BTC-USDT", "buy", "market", "0.01")

    def fills() -> list[list[Fill]]:
        found = [[e for e in _events(r, s) if isinstance(e, Fill)] for s in streams]
        return found if all(found) else []

    main_fills, hedge_fills = wait_until(fills, 10, "the fill on both private streams")
    assert [(f.account, f.order_id) for f in main_fills] == [("main", placed)]
    assert [(f.account, f.order_id) for f in hedge_fills] == [("hedge", placed)]
    for stream, account in zip(streams, ("main", "hedge"), strict=True):
        statuses = {(e.feed, e.status) for e in _events(r, stream) if isinstance(e, FeedStatus)}
        assert ("private", "logged_in") in statuses, account
    ticks = keys.ticks_stream(keys.partition("okx", "BTC-USDT", main.publisher.partitions))
    rows = [row for data in _data(r, ticks) for row in decode_ticks(data)]
    assert rows
    assert {row[0] for row in rows} == {"BTC-USDT"}
