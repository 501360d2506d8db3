"""Bybit end to end: the Bybit simulator -> klaxon's watcher (wired from KLAXON_ACCOUNTS as `klaxon
watch` wires it) -> Redis -> a real rq burst worker -> apprise -> the local inbox. A price crossing
(last and mark) and a fill notify; fills made while the private connection is down are
backfilled over REST (/v5/execution/list), each once, the missed ones marked late."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from simulator import Simulator
from tests.integration.bybit_client import bybit_account, bybit_env
from tests.integration.sim_client import _control, _state
from tests.integration.test_workers_harness import harness
from tests.integration.wired import build, running, watching_private
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, decode_event

pytestmark = pytest.mark.timeout(60)
PRIVATE = keys.private_stream("bybit", "main")
RULES = """\
  - name: btc-up
    price: {venue: bybit, market: "linear:BTCUSDT", crosses_up: "60100"}
    notify: [desk]
    message: "{market} crossed above {level}: last {price} (was {prev})"
  - name: btc-mark
    price: {venue: bybit, market: "linear:BTCUSDT", source: mark, above: "60120"}
    notify: [desk]
    message: "{market} {source} {price} above {level}"
  - name: fills
    fill: {venue: bybit, account: main}
    notify: [desk]
    message: "Filled {side} {size} {market} @ {price} on {venue}/{account} trade {trade_id} {late}"
"""
NOTIFIED = re.compile(r"trade (\S+)( late)?\s*$")


def clients(sim: Simulator, feed: str) -> list[dict[str, Any]]:
    """The simulator's clients of one feed."""
    found: list[dict[str, Any]] = _state(sim)["clients"][feed]
    return found


def watching_all(sim: Simulator) -> bool:
    """Whether the watcher holds the linear tickers and a logged-in, subscribed private feed."""
    public, private = clients(sim, "public-linear"), clients(sim, "private")
    return (
        len(public) == 1
        and {"topic": "tickers.BTCUSDT"} in public[0]["subscriptions"]
        and len(private) == 1
        and private[0]["loggedIn"]
        and len(private[0]["subscriptions"]) == 4
    )


def fills(r: redis.Redis) -> list[Fill]:
    """The account's private stream's fills, oldest first."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(PRIVATE))
    events = [decode_event(fields[b"d"]) for _, fields in entries]
    return [e for e in events if isinstance(e, Fill)]


def test_a_crossing_and_a_fill_on_bybit_notify_through_a_real_worker(
    bybit_sim: Simulator, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with harness(redis_url, tmp_path) as kx:
        (rules,) = kx.rules(RULES)
        env = {
            "KLAXON_REDIS_URL": redis_url,
            "KLAXON_ACCOUNTS": json.dumps([{"venue": "bybit", "account": "main"}]),
        } | bybit_env(bybit_sim)
        (account,), watchers = build(monkeypatch, env, rules)
        (watcher,) = watchers
        assert [s.feed.name for s in watcher.streams] == ["public-linear", "private"]
        assert kx.r.get(keys.key_permissions("bybit", "main")) == b"read,trade"  # audited
        with running(watchers):
            wait_until(lambda: watching_all(bybit_sim), 10, "the tickers and the private feed")
            _control(
                bybit_sim,
                "path",
                {"market": "linear:BTCUSDT", "prices": ["60050", "60150"], "interval": 0.2},
            )
            wait_until(
                lambda: _state(bybit_sim)["prices"]["linear:BTCUSDT"] == "60150", 5, "the path"
            )
            placed = account.venue.trading().place_order(
                "linear:BTCUSDT", "buy", "market", "0.01", client_order_id="wired-1"
            )
            wait_until(lambda: fills(kx.r), 10, "the fill on the private stream")

            def alerts() -> list[str]:
                messages = kx.messages()
                wanted = ("crossed above", "mark", "Filled")
                return messages if all(any(w in m for m in messages) for w in wanted) else []

            kx.work_until(alerts, 20, "the price, mark and fill alerts")
    messages = alerts()
    assert "linear:BTCUSDT crossed above 60100: last 60150 (was 60050)" in messages
    assert "linear:BTCUSDT mark 60150 above 60120" in messages
    (fill,) = fills(kx.r)
    assert (fill.order_id, fill.client_order_id, fill.late) == (placed, "wired-1", False)
    (filled,) = [m for m in messages if m.startswith("Filled")]
    assert filled.startswith("Filled buy 0.01 linear:BTCUSDT @ 60150 on bybit/main trade ")
    found = NOTIFIED.search(filled)
    assert found is not None
    assert found[1] == fill.trade_id


def test_fills_made_while_the_private_feed_was_down_arrive_once_and_notify_once(
    bybit_sim: Simulator, redis_url: str, tmp_path: Path
) -> None:
    venue = bybit_account(bybit_sim)
    trading = venue.trading()
    start = datetime.now(UTC)
    with harness(redis_url, tmp_path) as kx:
        kx.rules(RULES)
        with watching_private(venue, kx.r) as watcher:
            (stream,) = watcher.streams
            wait_until(lambda: watching_private_feed(bybit_sim), 10, "the private feed")
            live = trading.place_order("linear:BTCUSDT", "buy", "market", "0.01")
            wait_until(lambda: fills(kx.r), 5, "the live fill")
            assert _control(bybit_sim, "drop", {"feed": "private"})["dropped"] == 1
            missed = {trading.place_order("linear:BTCUSDT", "buy", "market", "0.01")}
            missed.add(trading.place_order("spot:BTCUSDT", "buy", "market", "0.002"))
            missed.add(trading.place_order("linear:ETHUSDT", "sell", "market", "0.1"))
            assert stream.connections == 1, "the fills must happen while disconnected"
            made = {f.trade_id for f in trading.fills_since(start)}
            assert len(made) == 4
            wait_until(
                lambda: {f.trade_id for f in fills(kx.r)} == made, 15, "every fill, backfilled"
            )
            assert stream.connections == 2
        got = fills(kx.r)
        assert sorted(f.trade_id for f in got) == sorted(made)  # each exactly once
        assert {f.order_id for f in got if not f.late} == {live}
        assert {f.order_id for f in got if f.late} == missed
        assert {f.market for f in got if f.late} == {
            "linear:BTCUSDT", "spot:BTCUSDT", "linear:ETHUSDT"
        }  # fmt: skip
        kx.work()
        lines = [line for message in kx.messages() for line in message.splitlines()]
        notified = [(m[1], m[2] or "") for line in lines if (m := NOTIFIED.search(line))]
        assert sorted(notified) == sorted((f.trade_id, " late" if f.late else "") for f in got)


def watching_private_feed(sim: Simulator) -> bool:
    """Whether one private client is logged in and subscribed."""
    private = clients(sim, "private")
    return len(private) == 1 and private[0]["loggedIn"] and bool(private[0]["subscriptions"])
