"""Feed self-monitoring against the simulator: the real watcher and its monitor, a real rq burst
worker, apprise to the local inbox. A feed that goes silent (the simulator stops pushing), one
that is down (dropped, reconnects refused) and a login refused (a wrong passphrase) each reach
the channel once per episode, with a recovery message when asked; a quick reconnect does not."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from klaxon.reload import publish_files
from klaxon.settings import WatcherSettings, load
from klaxon.wiring import build_monitor
from rules.base import utc_text
from simulator import Simulator
from tests.integration.sim_client import KEY, SECRET, _control, _state, account_env, okx_account
from tests.integration.test_workers_harness import Klaxon, stream_events
from tests.integration.wired import build
from tests.waiting import wait_until
from watcher import keys
from watcher.events import FeedStatus
from watcher.monitor import Monitor, MonitorOptions
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.stream import StreamOptions
from watcher.venues.okx import Okx, OkxCredentials

PRIVATE = keys.private_stream("okx", "main")
FAST = StreamOptions(backoff_base=0.05, backoff_cap=0.2, login_timeout=3.0)
# Looks 10 times a second; reports a condition after 1 s; over after 0.5 s clear.
QUICK = MonitorOptions(interval=0.1, settle=0.5, silent=(1.0,), down=(1.0,), lag=(3600.0,))
MESSAGE = '    message: "{status} {state} {venue}/{account} {feed} since={since} {summary}"\n'


def statuses(r: redis.Redis) -> list[FeedStatus]:
    """The FeedStatus events of okx/main's private stream, oldest first."""
    return [e for e in stream_events(r, PRIVATE) if isinstance(e, FeedStatus)]


def reports(r: redis.Redis) -> list[FeedStatus]:
    """The monitor's reports (they say since when), oldest first."""
    return [s for s in statuses(r) if s.since is not None]


def flowing(sim: Simulator) -> None:
    """Play BTC-USDT prices every 50 ms for a minute: the public feed has data."""
    prices = [str(60000 + (n % 7)) for n in range(1200)]
    _control(sim, "path", {"market": "BTC-USDT", "prices": prices, "interval": 0.05})


def ticks_in(r: redis.Redis) -> int:
    return int(r.hget(keys.STATS, keys.STAT_TICKS_IN) or 0)


@contextmanager
def monitored(watcher: Watcher, r: redis.Redis, options: MonitorOptions = QUICK) -> Iterator[None]:
    """The watcher and its monitor (as `klaxon watch` runs them), each in a thread."""
    monitor = Monitor(
        r,
        [(stream, watcher.publisher) for stream in watcher.streams],
        watcher.publisher.streams(),
        options,
    )
    threads = [threading.Thread(target=watcher.run), threading.Thread(target=monitor.run)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        monitor.stop()
        watcher.stop()
        for thread in threads:
            thread.join(10)
    assert not any(thread.is_alive() for thread in threads)


def public_watcher(sim: Simulator, r: redis.Redis) -> Watcher:
    """okx/main's BTC-USDT ticker feed on the simulator (no private feed)."""
    publisher = Publisher(r, "okx", "main", 4)
    return Watcher(okx_account(sim), publisher, {("BTC-USDT", "last")}, options=FAST)


def subscribed(sim: Simulator, feed: str = "public") -> bool:
    clients = _state(sim)["clients"][feed]
    return len(clients) == 1 and bool(clients[0]["subscriptions"])


def test_a_silent_feed_is_reported_once_and_its_recovery_once(sim: Simulator, kx: Klaxon) -> None:
    kx.rules("  - name: quiet\n    feed: {state: silent, seconds: 1, recovered: true}\n"
             "    notify: [desk]\n" + MESSAGE)  # fmt: skip
    flowing(sim)
    watcher = public_watcher(sim, kx.r)
    with monitored(watcher, kx.r):
        wait_until(lambda: subscribed(sim), 10, "the public feed")
        # Data flows for 2 s and more: the monitor, looking 10 times a second, says nothing.
        start = ticks_in(kx.r)
        wait_until(lambda: ticks_in(kx.r) >= start + 40, 10, "two seconds of prices")
        assert reports(kx.r) == []
        assert _control(sim, "pause", {"feed": "public"})["paused"] == ["public"]
        kx.work_until(kx.messages, 10, "the silent feed's alert")
        (alert,) = kx.messages()
        assert re.fullmatch(r"silent silent okx/main public since=\S+ silent for [\d.]+s", alert)
        _control(sim, "pause", {"feed": "public", "paused": False})
        wait_until(lambda: len(reports(kx.r)) == 2, 10, "the recovery, reported")
    # Prices flow on: a burst worker would never find the queues empty with the watcher on.
    kx.work_until(lambda: len(kx.messages()) == 2, 10, "the recovery")
    recovery = kx.messages()[1]
    assert recovery.startswith("recovered silent okx/main public since=")
    assert " recovered: silent for " in recovery
    (silent, over) = reports(kx.r)
    assert (silent.status, over.status, over.code) == ("silent", "recovered", "silent")
    assert silent.since == over.since  # one episode
    assert silent.since is not None
    assert alert.split(" ")[4] == f"since={utc_text(silent.since)}"


def test_a_feed_down_is_reported_and_a_quick_reconnect_is_not(sim: Simulator, kx: Klaxon) -> None:
    kx.rules("  - name: down\n    feed: {state: down, seconds: 3, recovered: true}\n"
             "    notify: [desk]\n" + MESSAGE)  # fmt: skip
    flowing(sim)
    watcher = public_watcher(sim, kx.r)
    (stream,) = watcher.streams
    # Down is reported after 3 s: a reconnect takes a few tenths of a second, even here.
    with monitored(watcher, kx.r, replace(QUICK, down=(3.0,))):
        wait_until(lambda: subscribed(sim), 10, "the public feed")
        # Dropped and back within the backoff: no episode.
        _control(sim, "drop", {"feed": "public"})
        wait_until(lambda: stream.connections == 2 and subscribed(sim), 10, "the reconnect")
        start = ticks_in(kx.r)
        wait_until(lambda: ticks_in(kx.r) >= start + 30, 10, "prices again")
        assert reports(kx.r) == []
        # Dropped, and every reconnect refused: down.
        _control(sim, "refuse", {"feed": "public"})
        _control(sim, "drop", {"feed": "public"})
        kx.work_until(kx.messages, 10, "the feed down alert")
        (alert,) = kx.messages()
        assert alert.startswith("down down okx/main public since=")
        assert "Handshake status 503" in alert  # why it is down: the last attempt's failure
        assert stream.attempts > 3  # retried meanwhile, and every try refused
        _control(sim, "refuse", {"feed": "public", "refused": False})
        wait_until(lambda: len(reports(kx.r)) == 2, 10, "the recovery, reported")
    kx.work_until(lambda: len(kx.messages()) == 2, 10, "the recovery")
    assert " recovered: down for " in kx.messages()[1]
    assert [s.status for s in reports(kx.r)] == ["down", "recovered"]


def test_a_refused_login_is_one_alert_however_often_it_is_tried(sim: Simulator, kx: Klaxon) -> None:
    kx.rules("  - name: login\n    feed: {state: login_failed}\n    notify: [desk]\n")
    wrong = OkxCredentials(
        api_key=SecretStr(KEY), secret_key=SecretStr(SECRET), passphrase=SecretStr("not-it")
    )
    venue = Okx("main", wrong, demo=True, private_url=sim.ws_private_url, rest_url=sim.base_url)
    publisher = Publisher(kx.r, "okx", "main", 4)
    watcher = Watcher(venue, publisher, set(), private=True, options=FAST)
    with monitored(watcher, kx.r):

        def refusals() -> int:
            return len([s for s in statuses(kx.r) if s.status == "login_failed" and not s.since])

        wait_until(lambda: refusals() >= 3, 15, "three refused logins")
        kx.work_until(kx.messages, 10, "the alert")
        wait_until(lambda: refusals() >= 5, 15, "two more refused logins")
        kx.work()
    assert kx.messages() == ["[login] okx/main private feed login refused (60024 Wrong passphrase)"]
    assert "not-it" not in json.dumps(kx.inbox.accepted())


def test_the_published_rules_seconds_are_thresholds_of_the_watchers_monitor(
    sim: Simulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.yaml"
    text = (
        'channels:\n  desk: "json://127.0.0.1:9/alerts"\nrules:\n'
        "  - {name: quiet, notify: desk, feed: {state: silent, seconds: 7.5}}\n"
        "  - {name: down, notify: desk, feed: {state: down, seconds: 45}}\n"
        "  - {name: lag, notify: desk, lag: {seconds: 2.5}}\n"
        "  - {name: btc, notify: desk, price: {market: BTC-USDT, above: '1'}}\n"
    )
    rules.write_text(text)
    env = {"KLAXON_REDIS_URL": redis_url} | account_env(sim)
    _, watchers = build(monkeypatch, env, rules)
    settings = load(WatcherSettings, rules=[rules])
    client = redis.Redis.from_url(redis_url)
    publish_files(client, [rules], settings.venues(), env={})  # as klaxon reload does
    monitor = build_monitor(settings, watchers)
    assert 7.5 not in monitor.tuned.silent  # the ladder, until the monitor looks
    monitor.check()
    assert 7.5 in monitor.tuned.silent
    assert 7.5 not in monitor.tuned.down
    assert 45.0 in monitor.tuned.down
    assert monitor.tuned.lag[0] == 2.5
    rules.write_text(text.replace("seconds: 7.5", "seconds: 20"))
    publish_files(client, [rules], settings.venues(), env={})  # a reload
    monitor.check()
    assert 20.0 in monitor.tuned.silent
    assert 7.5 not in monitor.tuned.silent
    client.close()
    assert set(monitor.streams) == {
        *(keys.ticks_stream(p) for p in range(settings.partitions)),
        PRIVATE,
        keys.SYSTEM_STREAM,
    }
