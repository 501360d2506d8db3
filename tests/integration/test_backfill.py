"""Gap backfill against the simulator: fills made while the private connection is down (dropped,
REST failing, watcher stopped) reach the private stream exactly once, the missed ones marked
late, and through a real rq worker and apprise each notifies once."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import redis

from simulator import Simulator
from tests.integration.sim_client import _control, _state, okx_account
from tests.integration.test_workers_harness import harness
from tests.integration.wired import QUICK_RETRY, watching_private
from tests.waiting import wait_until
from watcher import keys
from watcher.backfill import BACKFILL_CODE, Backfill, BackfillOptions
from watcher.events import Event, FeedStatus, Fill, OrderUpdate, decode_event
from watcher.publish import Publisher
from watcher.venues import Trading
from watcher.venues.okx import Okx

PRIVATE = keys.private_stream("okx", "main")
MARK = keys.backfill_mark("okx", "main")
NOTIFIED = re.compile(r"trade (\S+)( late)?\s*$")
FILL_RULE = """\
  - name: fills
    fill: {account: main}
    notify: [desk]
    message: "{side} {size} {market} trade {trade_id} {late}"
"""


def events(r: redis.Redis) -> list[Event]:
    """The private stream's events, oldest first."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(PRIVATE))
    return [decode_event(fields[b"d"]) for _, fields in entries]


def fills(r: redis.Redis) -> list[Fill]:
    """The private stream's fills, oldest first."""
    return [e for e in events(r) if isinstance(e, Fill)]


def made(trading: Trading, since: datetime) -> set[str]:
    """The trade ids of every fill the simulator made since `since` (its own REST record)."""
    return {f.trade_id for f in trading.fills_since(since)}


def buy(trading: Trading) -> str:
    """Buy at market on the simulator: it fills at once."""
    return trading.place_order("BTC-USDT", "buy", "market", "0.01")


def subscribed(sim: Simulator) -> bool:
    """Whether the watcher's private feed is logged in and subscribed."""
    clients: list[dict[str, Any]] = _state(sim)["clients"]["private"]
    return len(clients) == 1 and clients[0]["loggedIn"] and bool(clients[0]["subscriptions"])


@pytest.fixture
def sim_okx(sim: Simulator) -> Okx:
    """The account on the simulator."""
    return okx_account(sim)


def test_fills_made_while_disconnected_arrive_once_marked_late_and_notify_once(
    sim: Simulator, sim_okx: Okx, redis_url: str, tmp_path: Path
) -> None:
    trading = sim_okx.trading()
    start = datetime.now(UTC)
    with harness(redis_url, tmp_path) as kx:
        kx.rules(FILL_RULE)
        with watching_private(sim_okx, kx.r) as watcher:
            (stream,) = watcher.streams
            live = buy(trading)
            wait_until(lambda: fills(kx.r), 5, "the live fill")
            assert _control(sim, "drop", {"feed": "private"})["dropped"] == 1
            missed = {buy(trading) for _ in range(3)}
            resting = trading.place_order("BTC-USDT", "buy", "limit", "0.01", "1000")
            assert stream.connections == 1, "the fills must happen while disconnected"
            trades = made(trading, start)
            assert len(trades) >= 4
            wait_until(
                lambda: {f.trade_id for f in fills(kx.r)} == trades, 15, "every fill, backfilled"
            )
            assert stream.connections == 2
        got = fills(kx.r)
        assert sorted(f.trade_id for f in got) == sorted(trades)  # each exactly once
        assert {f.order_id for f in got if not f.late} == {live}
        assert {f.order_id for f in got if f.late} == missed
        orders = [e for e in events(kx.r) if isinstance(e, OrderUpdate)]
        (late_order,) = [o for o in orders if o.late]
        assert (late_order.order_id, late_order.state) == (resting, "live")
        assert len([o for o in orders if o.order_id == resting]) == 1
        # Through a real rq worker and apprise to the local inbox: each trade notified once
        # (alone or in a digest), the late ones saying so.
        kx.work()
        lines = [line for message in kx.messages() for line in message.splitlines()]
        notified = [(m[1], m[2] or "") for line in lines if (m := NOTIFIED.search(line))]
        assert sorted(notified) == sorted((f.trade_id, " late" if f.late else "") for f in got)


def test_a_failing_rest_api_is_reported_and_retried_without_losing_a_fill(
    sim: Simulator, sim_okx: Okx, r: redis.Redis
) -> None:
    trading = sim_okx.trading()
    start = datetime.now(UTC)
    slow_retry = BackfillOptions(retry_base=2.0, retry_cap=2.0, timeout=2.0)
    with watching_private(sim_okx, r, slow_retry) as watcher:
        (stream,), (backfill,) = watcher.streams, watcher.backfills
        _control(sim, "drop", {"feed": "private"})
        missed = buy(trading)
        _control(sim, "fail", {"mode": "5xx", "count": 1, "path": "/api/v5/trade/fills"})
        assert stream.connections == 1, "the fill must happen while disconnected"

        def failed() -> list[FeedStatus]:
            found = [e for e in events(r) if isinstance(e, FeedStatus)]
            return [e for e in found if e.status == "error" and e.code == BACKFILL_CODE]

        (status,) = wait_until(failed, 15, "the backfill's failure, reported")
        assert "ExchangeUnavailable" in status.detail
        assert "HTTP 503" in status.detail
        # A live fill while the backfill is owed: it must not move the mark past the missed one.
        live = buy(trading)
        wait_until(lambda: [f for f in fills(r) if f.order_id == live], 5, "the live fill")
        assert backfill.retry_at is not None, "the retry must still be owed"
        assert [f.order_id for f in fills(r)] == [live]
        wait_until(lambda: len(fills(r)) == 2, 10, "the missed fill, on the retry")
        assert stream.connections == 2  # retried without reconnecting
    got = fills(r)
    assert sorted(f.trade_id for f in got) == sorted(made(trading, start))
    assert [(f.order_id, f.late) for f in got] == [(live, False), (missed, True)]


def test_fills_made_while_the_watcher_was_stopped_arrive_at_its_next_start(
    sim: Simulator, sim_okx: Okx, r: redis.Redis
) -> None:
    trading = sim_okx.trading()
    start = datetime.now(UTC)
    before = buy(trading)  # before the first start: within the first backfill's lookback
    with watching_private(sim_okx, r):
        wait_until(lambda: fills(r), 5, "the fill made before the first start")
    first_mark = int(r.get(MARK) or 0)
    after = buy(trading)
    with watching_private(sim_okx, r):
        wait_until(lambda: len(fills(r)) == 2, 10, "the fill made while stopped")
    got = fills(r)
    assert [(f.order_id, f.late) for f in got] == [(before, True), (after, True)]
    assert sorted(f.trade_id for f in got) == sorted(made(trading, start))
    assert int(r.get(MARK) or 0) > first_mark


def test_a_failed_backfill_keeps_its_mark_and_the_next_run_publishes(
    sim: Simulator, sim_okx: Okx, r: redis.Redis
) -> None:
    trading = sim_okx.trading()
    placed = buy(trading)
    publisher = Publisher(r, "okx", "main", 4)
    publisher.ensure_groups()
    backfill = Backfill(sim_okx.trading(2.0), publisher, QUICK_RETRY)
    _control(sim, "fail", {"mode": "5xx", "count": 1, "path": "/api/v5/trade/fills"})
    ((_, (status,)),) = backfill.run()
    assert isinstance(status, FeedStatus)
    assert (status.status, status.code) == ("error", BACKFILL_CODE)
    assert r.get(MARK) is None
    assert backfill.retry_at is not None
    assert fills(r) == []
    assert backfill.run() == []
    assert backfill.retry_at is None
    assert [(f.order_id, f.late) for f in fills(r)] == [(placed, True)]
    assert r.get(MARK) is not None
    # A run with nothing new publishes nothing: what the stream holds is not fetched twice.
    assert backfill.run() == []
    assert len(fills(r)) == 1
