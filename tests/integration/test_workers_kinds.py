"""The move and margin kinds and the rule options on real workers: entries written as the
watcher writes them, burst rq workers on a real Redis, apprise to a local HTTP endpoint; the
kinds' state (move windows, hold timers, arming, position sizes) in Redis, so it survives the
stream passing to another worker (here: a fresh process's rules, uninstalled in between)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.integration.test_workers_harness import PRIVATE, STREAM, Klaxon, harness
from watcher import keys
from watcher.events import PositionUpdate, TickRow, encode_event, encode_ticks
from workers import context
from workers.service import load
from workers.state import load_table

S = 1000


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def ticks(kx: Klaxon, *rows: tuple[int, str]) -> None:
    """XADD one ticks entry of BTC-USDT last prices at the given exchange ms."""
    data: list[TickRow] = [("BTC-USDT", "last", price, "", "", ms) for ms, price in rows]
    kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(data)})
    kx.kick(STREAM)


def another_worker(kx: Klaxon) -> None:
    """Forget this process's rules and matchers: only Redis remembers, as for a new worker."""
    context.uninstall()
    load(kx.paths)


def add_position(kx: Klaxon, size: str, opened_ago: float | None = None, **prices: str) -> None:
    now = datetime.now(UTC)
    event = PositionUpdate(
        venue="okx",
        account="main",
        market="BTC-USDT-SWAP",
        side="net",
        size=Decimal(size),
        avg_price=Decimal("60000"),
        mark_price=Decimal(prices["mark"]) if "mark" in prices else None,
        liquidation_price=Decimal(prices["liq"]) if "liq" in prices else None,
        opened_at=None if opened_ago is None else now - timedelta(seconds=opened_ago),
        at=now,
    )
    kx.r.xadd(PRIVATE, {b"k": b"position", b"d": encode_event(event)})
    kx.kick(PRIVATE)


def test_a_move_window_passes_to_the_next_worker(kx: Klaxon) -> None:
    kx.rules(
        "  - name: pump\n"
        "    move: {market: BTC-USDT, by: '3%', window: 5m, direction: up}\n"
        "    notify: [desk]\n"
        "    message: '{market} {direction} {pct}% in {window}: {from} -> {price}'\n"
    )
    t0 = int(time.time() * 1000)
    ticks(kx, (t0, "60000"), (t0 + 10 * S, "60500"))
    kx.work()
    assert kx.r.hgetall(keys.kind_state(STREAM, "move"))  # the window, saved with the batch
    another_worker(kx)
    ticks(kx, (t0 + 60 * S, "61799"), (t0 + 61 * S, "61800"))
    kx.work()
    assert kx.messages() == ["BTC-USDT up 3.00% in 5m: 60000 -> 61800"]


def test_a_hold_timer_and_an_arming_pass_to_the_next_worker(kx: Klaxon) -> None:
    kx.rules(
        "  - name: held\n"
        "    price: {market: BTC-USDT, above: '60000'}\n"
        "    hold: 5s\n"
        "    notify: [desk]\n"
        "    message: 'held {price} at {time}'\n"
        "  - name: rearmed\n"
        "    price: {market: BTC-USDT, crosses_up: '60000'}\n"
        "    rearm: 100\n"
        "    notify: [desk]\n"
        "    message: 'crossed {price}'\n"
    )
    t0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    ticks(kx, (t0, "59990"), (t0 + 1 * S, "60010"), (t0 + 3 * S, "60020"))
    kx.work()
    assert kx.messages() == ["crossed 60010"]
    another_worker(kx)
    # The hold started at +1 s on the first worker; the arming was spent there too.
    ticks(kx, (t0 + 6 * S, "60030"), (t0 + 7 * S, "59950"), (t0 + 8 * S, "60001"))
    kx.work()
    another_worker(kx)
    ticks(kx, (t0 + 9 * S, "59899"), (t0 + 10 * S, "60002"))
    kx.work()
    assert kx.messages() == [
        "crossed 60010",
        "held 60030 at 2026-01-01T00:00:06.000Z",
        "crossed 60002",
    ]


def test_expired_rules_never_fire_and_for_counts_from_the_first_tick(kx: Klaxon) -> None:
    kx.rules(
        "  - name: gone\n"
        "    price: {market: BTC-USDT, above: '1'}\n"
        "    expires: 2020-01-01T00:00Z\n"
        "    notify: [desk]\n"
        "  - name: week\n"
        "    price: {market: BTC-USDT, above: '1'}\n"
        "    for: 7d\n"
        "    cooldown: 1s\n"
        "    notify: [desk]\n"
        "    message: 'week {price}'\n"
    )
    t0 = int(time.time() * 1000)
    ticks(kx, (t0, "5"))
    kx.work()
    another_worker(kx)
    ticks(kx, (t0 + 7 * 86_400_000, "6"))  # a week after the first tick: over
    kx.work()
    assert kx.messages() == ["week 5"]


def test_quiet_hours_hold_the_notification_until_they_end(kx: Klaxon) -> None:
    now = datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    hours = f"{start:%H:%M}-{end:%H:%M} UTC"
    kx.rules(
        "  - name: quiet\n"
        "    price: {market: BTC-USDT, crosses_up: '65000'}\n"
        f"    quiet: '{hours}'\n"
        "    notify: [desk]\n"
        "    message: '{market} crossed {level} at {time}'\n"
    )
    ticks(kx, (int(time.time() * 1000), "64990"), (int(time.time() * 1000), "65010"))
    kx.work()
    assert kx.inbox.posts == []
    queue = Queue(keys.NOTIFY_QUEUE, connection=kx.r)
    registry = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    (job_id,) = registry.get_job_ids()
    due = registry.get_scheduled_time(job_id)
    assert due == end.replace(second=0, microsecond=0)
    kx.fast_forward()  # the end of the quiet hours, now
    kx.work_until(lambda: kx.messages(), 10, "the held notification")
    (message,) = kx.messages()
    assert message.startswith("BTC-USDT crossed 65000 at ")


def test_positions_opened_and_closed_across_workers(kx: Klaxon) -> None:
    kx.rules(
        "  - name: opened\n"
        "    margin: {account: main, position: opened}\n"
        "    notify: [desk]\n"
        "  - name: closed\n"
        "    margin: {account: main, position: closed}\n"
        "    notify: [desk]\n"
        "  - name: near\n"
        "    margin: {market: BTC-USDT-SWAP, liq_distance_below: '5%'}\n"
        "    notify: [desk]\n"
    )
    add_position(kx, "1", opened_ago=3600)  # the snapshot of a position open for an hour
    kx.work()
    another_worker(kx)
    add_position(kx, "0")
    add_position(kx, "0.5", opened_ago=0.1, mark="60000", liq="58000")
    kx.work()
    assert kx.messages() == [
        "[closed] okx/main BTC-USDT-SWAP: position closed",
        "[opened] okx/main BTC-USDT-SWAP: position opened: net 0.5 @ 60000",
        "[near] okx/main BTC-USDT-SWAP: liquidation 3.33% away (mark 60000, liq 58000), under 5%",
    ]
    assert load_table(kx.r.hgetall(keys.kind_state(PRIVATE, "margin"))) == {
        "pos|okx|main|BTC-USDT-SWAP|net": "0.5"
    }
