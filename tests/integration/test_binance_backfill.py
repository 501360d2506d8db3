"""Binance gap backfill against the simulator: fills made while the user data stream is down (its
listen key expired, or the connection dropped) reach the private stream exactly once, marked
late, and through a real rq burst worker and apprise each notifies once. Binance lists trades
per symbol: the missed markets come from the fills already seen (BTCUSDT), the published rules
(spot's ETHUSDT) and USD-M's income history (its ETHUSDT, known nowhere else)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
import redis
from rq import Queue

from klaxon.inbox import Inbox
from simulator import Simulator
from tests.integration.binance_sim import MARKETS, config, control, rest, venue
from tests.integration.test_backfill import NOTIFIED
from tests.integration.wired import watching_private
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, decode_event
from watcher.published import publish
from watcher.venues.binance import BinanceRest
from workers import context
from workers.service import load as load_worker_rules
from workers.service import make_worker

pytestmark = pytest.mark.timeout(90)
RULES = """\
channels:
  desk: "{hook}"
rules:
  - name: fills
    fill: {{venue: {venue}}}
    notify: [desk]
    message: "fill {{side}} {{size}} {{market}} trade {{trade_id}} {{late}}"
"""


def fills(r: redis.Redis, name: str) -> list[Fill]:
    """The account's private stream's fills, oldest first."""
    stream = keys.private_stream(name, "main")
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    events = [decode_event(fields[b"d"]) for _, fields in entries if fields[b"k"] == b"fill"]
    return [e for e in events if isinstance(e, Fill)]


def made(trading: BinanceRest, since: datetime) -> set[str]:
    """The trade ids of every fill the simulator made since `since`, asked market by market."""
    return {f.trade_id for market in MARKETS for f in trading.fills_since(since, market)}


def idle(r: redis.Redis) -> bool:
    """Whether no evaluation or notification waits in its queue."""
    return all(Queue(q, connection=r).count == 0 for q in (keys.EVALUATE_QUEUE, keys.NOTIFY_QUEUE))


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """The local inbox the desk channel posts to."""
    box = Inbox().start()
    yield box
    box.stop()


@pytest.mark.parametrize(("name", "cut"), [("binance", "expire"), ("binanceusdm", "drop")])
def test_fills_made_while_the_user_data_stream_is_down_arrive_once_late_and_notify_once(
    r: redis.Redis, inbox: Inbox, tmp_path: Path, name: str, cut: str
) -> None:
    sim = Simulator(config(name)).start()
    path = tmp_path / "rules.yaml"
    path.write_text(RULES.format(hook=inbox.url(), venue=name))
    load_worker_rules([path], venues=(name,))
    if name == "binance":  # spot names no traded symbol: the rules' markets are asked too
        publish(r, "v1", [(name, "ETHUSDT", "last")])
    trading = rest(sim, name)
    start = datetime.now(UTC)
    account = venue(sim, name)
    try:
        with watching_private(account, r) as watcher:
            (stream,) = watcher.streams
            assert stream.feed.private
            live = trading.place_order("BTCUSDT", "buy", "market", "0.01")
            wait_until(lambda: fills(r, name), 10, "the live fill")
            if cut == "expire":
                assert control(sim, name, "listen-key/expire", {})["notified"] == 1
            else:
                assert control(sim, name, "drop", {"feed": "private"})["dropped"] == 1
            missed = {
                trading.place_order("BTCUSDT", "buy", "market", "0.02"),
                trading.place_order("ETHUSDT", "buy", "market", "0.5"),
                trading.place_order("BTCUSDT", "sell", "market", "0.01"),
            }
            assert stream.connections == 1, "the fills must happen while disconnected"
            trades = made(trading, start)
            assert len(trades) == 4
            wait_until(
                lambda: {f.trade_id for f in fills(r, name)} == trades, 20, "every fill, backfilled"
            )
            assert stream.connections == 2
    finally:
        account.close()
        sim.stop()
    got = fills(r, name)
    assert sorted(f.trade_id for f in got) == sorted(trades)  # each exactly once
    assert {f.order_id for f in got if not f.late} == {live}
    assert {f.order_id for f in got if f.late} == missed
    # Through real rq burst workers and apprise to the local inbox: each trade notified once
    # (alone or in a digest), the late ones saying so.
    try:

        def notified() -> list[tuple[str, str]]:
            make_worker(r).work(burst=True, with_scheduler=True)
            lines = [line for p in inbox.received for line in p["message"].splitlines()]
            return [(m[1], m[2] or "") for line in lines if (m := NOTIFIED.search(line))]

        wait_until(lambda: len(notified()) >= len(got) and idle(r), 30, "every fill notified")
        expected = [(f.trade_id, " late" if f.late else "") for f in got]
        assert sorted(notified()) == sorted(expected)
    finally:
        context.uninstall()
