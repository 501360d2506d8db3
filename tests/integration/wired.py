"""Accounts and watchers built as `klaxon watch` builds them, from variables and a rule file, and
watchers run in threads for a test's duration."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from klaxon.settings import WatcherSettings, load
from klaxon.wiring import Account, accounts, build_watchers
from rules.load import load_rules
from tests.waiting import wait_until
from watcher import keys
from watcher.backfill import BackfillOptions
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.stream import StreamOptions
from watcher.venues import Venue

# The first reconnect waits 3-6 s: long enough to make fills on the simulator meanwhile.
SLOW_RECONNECT = StreamOptions(backoff_base=6.0, backoff_cap=6.0, login_timeout=5.0)
QUICK_RETRY = BackfillOptions(retry_base=0.3, retry_cap=1.0, timeout=2.0)


def build(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], rules: Path
) -> tuple[list[Account], list[Watcher]]:
    """Set `env`, then read the settings, the rule file, the accounts, and build the watchers."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load(WatcherSettings, rules=[rules])
    ruleset = load_rules(settings.rules, env={}, venues=settings.venues())
    configured = accounts(settings.accounts)
    return configured, build_watchers(settings, configured, ruleset.markets())


@contextmanager
def running(watchers: list[Watcher]) -> Iterator[None]:
    """Run the watchers, each in its thread; stop and join them afterwards."""
    threads = [threading.Thread(target=w.run) for w in watchers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        for watcher in watchers:
            watcher.stop()
        for thread in threads:
            thread.join(10)
    assert not any(t.is_alive() for t in threads)


@contextmanager
def watching_private(
    venue: Venue, r: redis.Redis, backfill: BackfillOptions = QUICK_RETRY
) -> Iterator[Watcher]:
    """The watcher of an account's private feed alone (slow to reconnect), running, past its
    first backfill."""
    watcher = Watcher(
        venue,
        Publisher(r, venue.name, venue.account, 4),
        set(),
        private=True,
        options=SLOW_RECONNECT,
        kick_interval=0.1,
        backfill=backfill,
    )
    with running([watcher]):
        mark = keys.backfill_mark(venue.name, venue.account)
        wait_until(lambda: r.exists(mark), 10, "the first backfill")
        yield watcher
