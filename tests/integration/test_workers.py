"""Workers end to end: stream entries written as the watcher writes them, real rq workers (burst,
in process) on a real Redis, apprise delivering for real to a local HTTP endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import orjson
import pytest
import redis
from rq import Queue

from rules.fill import FillRule
from rules.load import load_rules
from tests.integration.test_workers_harness import (
    CROSS_UP,
    FILL_EVERY,
    PRIVATE,
    STREAM,
    Klaxon,
    fill_data,
    harness,
    in_threads,
    text_id,
    ticks_data,
)
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, TickRow, decode_event, encode_ticks
from workers import context
from workers.evaluate import evaluate_stream
from workers.firings import firing_of
from workers.latency import DECISION, ENQUEUED, counts_from_stats
from workers.service import make_worker, run_worker
from workers.state import ClaimRequest, Scripts, claim_firings, load_table


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def test_a_crossing_fires_once_and_the_rendered_message_reaches_the_channel(kx: Klaxon) -> None:
    paths = kx.rules(CROSS_UP)
    kx.ticks("64990.5", "65010.25")
    # As `klaxon work` starts a worker: the loaded rules, and their files to watch.
    run_worker(kx.redis_url, load_rules(paths), burst=True, rule_paths=paths)
    assert kx.inbox.accepted() == [
        {
            "version": "1.0",
            "title": "klaxon: btc-up",
            "message": "BTC-USDT crossed above 65000 at 65010.25 (prev 64990.5)",
            "attachments": [],
            "type": "info",
        }
    ]
    assert kx.r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_tick_that_does_not_cross_does_not_fire(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "64999.99", "64000")
    kx.work()
    assert kx.inbox.posts == []
    assert kx.r.keys(keys.claim("*")) == []
    last = load_table(kx.r.hgetall(keys.last_prices(STREAM)))
    assert last == {"okx|BTC-USDT|last": "64000"}


def test_the_previous_price_survives_across_jobs_and_processes(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990")
    kx.work()
    context.uninstall()  # a fresh process: only Redis remembers the previous price
    kx.ticks("65000")
    run_worker(kx.redis_url, kx.paths, burst=True)
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65000 (prev 64990)"]


def test_once_never_fires_twice_even_after_more_crossings(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "65010", "64900", "65100")
    kx.work()
    kx.ticks("64000", "66000")
    kx.work()
    context.uninstall()  # and not after a restart either
    kx.rules(CROSS_UP)
    kx.ticks("64000", "66000")
    kx.work()
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]


def test_cooldown_fires_again_only_after_the_cooldown(kx: Klaxon) -> None:
    kx.rules(
        "  - name: btc-high\n"
        '    price: {market: BTC-USDT, above: "65000"}\n'
        "    notify: [desk]\n"
        "    cooldown: 1s\n"
        "    message: '{time}'\n"
    )
    sent: list[str] = []

    def tick() -> int:
        sent.append(kx.ticks("65100"))
        kx.work()
        return len(kx.inbox.accepted())

    wait_until(lambda: tick() >= 2, timeout=10, every=0.05)
    # Compare the firing ticks' own times (the message), not arrival times at the inbox, which
    # carry the delivery engine's jitter: the second firing's tick was written at least the
    # cooldown after the first's, less the time a tick takes to be claimed (< 100 ms here).
    first, second = (datetime.fromisoformat(m.replace("Z", "+00:00")) for m in kx.messages())
    assert (second - first).total_seconds() >= 0.9
    assert len(sent) > 3  # ticks above the level in between were suppressed, not absent


def test_a_fill_fires_once_per_trade_id(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY)
    kx.fill("t-1")
    kx.fill("t-2")
    kx.work()
    kx.fill("t-1")  # the same trade again (a REST backfill after a reconnect)
    kx.work()
    assert kx.messages() == [
        "buy 0.010 BTC-USDT @ 65000.1 fee -0.0065 USDT trade t-1",
        "buy 0.010 BTC-USDT @ 65000.1 fee -0.0065 USDT trade t-2",
    ]


def test_same_entry_id_and_trade_id_on_two_accounts_are_two_fills(kx: Klaxon) -> None:
    kx.rules("  - name: all-fills\n    fill: {}\n    notify: [desk]\n    message: '{account}'\n")
    # Both sides of one trade, on two accounts' streams, written in the same millisecond.
    for account in ("main", "hedge"):
        stream = keys.private_stream("okx", account)
        kx.r.xadd(stream, {b"k": b"fill", b"d": fill_data("t-1", account)}, id="1700000000000-0")
        kx.kick(stream)
    kx.work()
    assert sorted(kx.messages()) == ["hedge", "main"]


def test_a_redelivered_fill_completes_its_notification_once(kx: Klaxon) -> None:
    kx.rules(FILL_EVERY)
    rule = context.current().ruleset.of(FillRule)[0]
    kx.r.xgroup_create(PRIVATE, keys.GROUP, id="0", mkstream=True)
    fill = fill_data("t-9")
    entry = text_id(kx.r.xadd(PRIVATE, {b"k": b"fill", b"d": fill}))
    # A killed evaluator: it read the entry (now pending) and claimed the firing, then died
    # before enqueueing the notification and acking.
    kx.r.xreadgroup(keys.GROUP, keys.CONSUMER, {PRIVATE: ">"})
    firing = firing_of(rule.id, PRIVATE, entry, 0)
    event = decode_event(fill)
    assert isinstance(event, Fill)
    subject = rule.subject(event)
    assert subject is not None
    claim = ClaimRequest(keys.claim(subject), firing, 60_000)
    assert [c.status for c in claim_firings(kx.r, Scripts(kx.r), [claim])] == [1]
    kx.kick(PRIVATE)
    kx.work()
    assert len(kx.messages()) == 1
    # Delivered again after all (a group reset): same firing, the job exists: nothing queued.
    kx.r.xgroup_setid(PRIVATE, keys.GROUP, "0")
    assert evaluate_stream(kx.r, PRIVATE, context.current()) == 1
    assert Queue(keys.NOTIFY_QUEUE, connection=kx.r).count == 0
    assert len(kx.inbox.posts) == 1
    assert kx.r.xpending(PRIVATE, keys.GROUP)["pending"] == 0


def test_a_pending_entry_of_a_killed_evaluator_is_evaluated_by_the_next(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": ticks_data("64990", "65010")})
    kx.r.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"})  # read, never acked
    kx.ticks("65020")
    kx.work()
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]
    assert kx.r.hget(keys.last_prices(STREAM), "okx|BTC-USDT|last") == b"65020"


def test_two_workers_racing_on_one_stream_fire_once(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "65010")
    kx.kick(STREAM, force=True)  # a re-kick: two evaluations queued for the same news

    def work() -> None:
        make_worker(redis.Redis.from_url(kx.redis_url)).work(burst=True)

    in_threads(2, work)
    kx.work()
    assert len(kx.inbox.posts) == 1
    assert len(kx.r.keys(keys.claim("*"))) == 1


def test_two_evaluators_seeing_the_same_crossing_claim_it_once(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    other = keys.ticks_stream(1)  # e.g. a duplicated watcher shard writing the same market
    for stream in (STREAM, other):
        kx.ticks("64990", "65010", stream=stream)
    ctx = context.current()
    counts: list[int] = []

    def evaluate(stream: str) -> None:
        counts.append(evaluate_stream(redis.Redis.from_url(kx.redis_url), stream, ctx))

    streams = iter([STREAM, other])
    lock = threading.Lock()

    def next_stream() -> None:
        with lock:
            stream = next(streams)
        evaluate(stream)

    in_threads(2, next_stream)
    assert sorted(counts) == [2, 2]
    assert Queue(keys.NOTIFY_QUEUE, connection=kx.r).count == 1
    kx.r.delete(*(keys.dirty(s) for s in (STREAM, other)))
    Queue(keys.EVALUATE_QUEUE, connection=kx.r).empty()  # type: ignore[no-untyped-call]
    kx.work()
    assert len(kx.inbox.posts) == 1


def test_an_undecodable_entry_is_skipped_counted_and_later_entries_fire(
    kx: Klaxon, caplog: pytest.LogCaptureFixture
) -> None:
    kx.rules(CROSS_UP)
    kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": b"{not json"})
    kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": b'[["BTC-USDT", "last"]]'})
    kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": ticks_data("64990", "NaN")})
    kx.r.xgroup_create(PRIVATE, keys.GROUP, id="0", mkstream=True)
    kx.r.xadd(PRIVATE, {b"k": b"fill", b"d": b'{"kind": "fill", "venue": "okx"}'})
    kx.ticks("64990", "65010")
    kx.kick(PRIVATE, force=True)
    kx.work()
    assert kx.messages() == ["BTC-USDT crossed above 65000 at 65010 (prev 64990)"]
    assert kx.r.hget(keys.STATS, "undecodable") == b"4"
    assert kx.r.xpending(STREAM, keys.GROUP)["pending"] == 0
    assert kx.r.xpending(PRIVATE, keys.GROUP)["pending"] == 0
    assert caplog.text.count("skipping undecodable entry") == 4


def test_an_absurd_time_or_price_is_undecodable_and_never_holds_up_the_stream(
    kx: Klaxon, caplog: pytest.LogCaptureFixture
) -> None:
    kx.rules(CROSS_UP + FILL_EVERY)
    now = int(time.time() * 1000)
    absurd: list[list[TickRow]] = [
        # Fits int64 and orjson, but no datetime holds it: rendering the crossing would raise.
        [("BTC-USDT", "last", "64990", "", "", now), ("BTC-USDT", "last", "65010", "", "", 9**17)],
        [("BTC-USDT", "last", "64990", "", "", now), ("BTC-USDT", "last", "-65010", "", "", now)],
        [("BTC-USDT", "last", "1e999999999", "", "", now)],
    ]
    for rows in absurd:
        kx.r.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(rows)})
    kx.r.xgroup_create(PRIVATE, keys.GROUP, id="0", mkstream=True)
    fill = orjson.loads(fill_data("t-absurd"))
    fill["at"] = "9999-12-31T00:00:00Z"
    kx.r.xadd(PRIVATE, {b"k": b"fill", b"d": orjson.dumps(fill)})
    kx.ticks("64990", "65010")
    kx.fill("t-1")
    kx.kick(PRIVATE, force=True)
    kx.work()
    assert sorted(kx.messages()) == [
        "BTC-USDT crossed above 65000 at 65010 (prev 64990)",
        "buy 0.010 BTC-USDT @ 65000.1 fee -0.0065 USDT trade t-1",
    ]
    assert kx.r.hget(keys.STATS, "undecodable") == b"4"
    assert kx.r.xpending(STREAM, keys.GROUP)["pending"] == 0
    assert kx.r.xpending(PRIVATE, keys.GROUP)["pending"] == 0
    assert caplog.text.count("skipping undecodable entry") == 4


def test_tick_latency_is_recorded_in_process_and_in_stats(kx: Klaxon) -> None:
    kx.rules(CROSS_UP)
    kx.ticks("64990", "64991", "64992", "65010")  # the last one crosses 65000 and fires
    kx.work()
    assert context.current().latency.total == 4
    assert context.current().enqueued.total == 1
    stats: dict[bytes, bytes] = kx.r.hgetall(keys.STATS)  # type: ignore[assignment]
    assert sum(counts_from_stats(stats, DECISION)) == 4
    assert sum(counts_from_stats(stats, ENQUEUED)) == 1
