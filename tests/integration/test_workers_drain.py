"""Draining a stream: the lock, the dirty flag's race, backlogs larger than a batch, order,
one queued job per stream and the hand-over to another stream's job."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest
import redis
from rq import Queue

from rules.book import PriceBook
from rules.index import PriceIndex
from rules.kinds import Dispatch
from rules.load import load_rules
from rules.price import PriceRule
from tests.waiting import wait_until
from watcher import keys
from watcher.events import TickRow, encode_ticks
from watcher.publish import enqueue_evaluations, kick
from workers import context, pace
from workers.context import Context
from workers.evaluate import evaluate_stream
from workers.firings import firing_of
from workers.pace import BATCH, FIRST_BATCH
from workers.state import Scripts, StreamLock

STREAM = keys.ticks_stream(3)

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: btc-down
    price: {market: BTC-USDT, crosses_down: "50000"}
    notify: [desk]
"""
TWO = """\
  - name: eth-down
    price: {market: ETH-USDT, crosses_down: "3000"}
    notify: [desk]
"""


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    yield context.install(load_rules([path]))
    context.uninstall()


def _add(r: redis.Redis, *prices: int, stream: str = STREAM, market: str = "BTC-USDT") -> None:
    """XADD one entry per price, pipelined, as the watcher writes ticks."""
    ms = int(time.time() * 1000)
    with r.pipeline(transaction=False) as pipe:
        for price in prices:
            rows: list[TickRow] = [(market, "last", str(price), "", "", ms)]
            pipe.xadd(stream, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(rows)})
        pipe.execute()


def _last(r: redis.Redis) -> bytes | str | None:
    return r.hget(keys.last_prices(STREAM), "okx|BTC-USDT|last")


def _ids(r: redis.Redis) -> list[str]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(STREAM))
    return [entry_id.decode() for entry_id, _ in entries]


def _notifications(r: redis.Redis) -> int:
    return Queue(keys.NOTIFY_QUEUE, connection=r).count


def test_a_held_stream_is_left_alone_and_its_dirty_flag_untouched(
    r: redis.Redis, ctx: Context
) -> None:
    _add(r, 60000, 61000)
    r.set(keys.dirty(STREAM), 1)
    other = StreamLock(r, Scripts.of(r), STREAM)
    assert other.acquire()
    assert evaluate_stream(r, STREAM, ctx) == 0
    assert r.exists(keys.dirty(STREAM))
    assert r.xlen(STREAM) == 2
    assert _last(r) is None
    other.release()
    assert evaluate_stream(r, STREAM, ctx) == 2
    assert not r.exists(keys.dirty(STREAM))
    assert _last(r) == b"61000"


class NewsDuringDrain(PriceIndex):
    """The watcher writing while an evaluator drains: XADD, SET dirty NX, and the evaluation
    job that flag enqueues runs at once and finds the lock taken."""

    def __init__(self, client: redis.Redis, ctx: Context) -> None:
        super().__init__(_price_book(ctx))
        self.client = client
        self.ctx = ctx
        self.concurrent: list[int] = []

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        if not self.concurrent:
            self.news()
        return super().candidates(venue, market, source, prev, now, ms)

    def news(self) -> None:
        _add(self.client, 62000)
        assert self.client.set(keys.dirty(STREAM), 1, nx=True, ex=10)
        other = redis.Redis.from_url(_url(self.client))
        self.concurrent.append(evaluate_stream(other, STREAM, self.ctx))


class KickedDuringDrain(NewsDuringDrain):
    """The watcher writing while the job its flag enqueued drains: XADD, then kick (SET dirty
    NX, enqueue only when the flag was not set)."""

    def news(self) -> None:
        _add(self.client, 62000)
        kick(self.client, [STREAM])
        self.concurrent.append(Queue(keys.EVALUATE_QUEUE, connection=self.client).count)


class _Racing(PriceBook):
    """The ruleset's price book, whose worker-side matcher is the racing index."""

    def __init__(self, book: PriceBook, index: PriceIndex) -> None:
        self.__dict__.update(book.__dict__)
        self._index = index

    def matcher(self) -> PriceIndex:
        return self._index


def _price_book(ctx: Context) -> PriceBook:
    book = ctx.ruleset.books[PriceRule.KIND]
    assert isinstance(book, PriceBook)
    return book


def _url(client: redis.Redis) -> str:
    kwargs = client.connection_pool.connection_kwargs
    return f"redis://{kwargs['host']}:{kwargs['port']}/0"


def _racing(ctx: Context, index: PriceIndex) -> Context:
    books = {**ctx.ruleset.books, PriceRule.KIND: _Racing(_price_book(ctx), index)}
    return Context(ruleset=ctx.ruleset, dispatch=Dispatch(books))


def test_news_during_a_drain_is_evaluated_by_the_holder_after_it_releases(
    r: redis.Redis, ctx: Context
) -> None:
    _add(r, 60000)
    r.xgroup_create(STREAM, keys.GROUP, id="0")
    index = NewsDuringDrain(r, ctx)
    racing = _racing(ctx, index)
    assert evaluate_stream(r, STREAM, racing) == 2
    assert index.concurrent == [0]
    assert _last(r) == b"62000"
    assert not r.exists(keys.dirty(STREAM))
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_news_while_a_streams_job_waits_or_drains_enqueues_no_other_job(
    r: redis.Redis, ctx: Context
) -> None:
    queue = Queue(keys.EVALUATE_QUEUE, connection=r)
    _add(r, 60000)
    kick(r, [STREAM])  # the writer that sets the flag fresh enqueues the stream's job
    _add(r, 61000)
    kick(r, [STREAM])  # news while that job waits: nothing more
    assert [job.args for job in queue.get_jobs()] == [(STREAM,)]
    queue.empty()  # type: ignore[no-untyped-call]
    index = KickedDuringDrain(r, ctx)
    assert evaluate_stream(r, STREAM, _racing(ctx, index)) == 3
    assert index.concurrent == [0]  # news while it drains: nothing more either
    assert _last(r) == b"62000"
    assert not r.exists(keys.dirty(STREAM))  # cleared with the read that found it empty
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0
    _add(r, 63000)
    kick(r, [STREAM])  # the next news enqueues the next job
    assert queue.count == 1


class FailingOnce(PriceIndex):
    """A matcher that raises on its first call (a bug, or rq's job timeout mid-batch)."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(_price_book(ctx))
        self.failed = False

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        if not self.failed:
            self.failed = True
            raise RuntimeError("boom")
        return super().candidates(venue, market, source, prev, now, ms)


def test_a_failed_job_leaves_neither_its_flag_nor_its_lock(r: redis.Redis, ctx: Context) -> None:
    """Its batch stays pending, and the next news enqueues the job that evaluates it."""
    ctx.delivers = False  # a worker that delivers would hand over to the notification
    _add(r, 51000, 49000)
    kick(r, [STREAM])
    queue = Queue(keys.EVALUATE_QUEUE, connection=r)
    queue.empty()  # type: ignore[no-untyped-call]
    with pytest.raises(RuntimeError, match="boom"):
        evaluate_stream(r, STREAM, _racing(ctx, FailingOnce(ctx)))
    assert not r.exists(keys.dirty(STREAM))
    assert not r.exists(keys.lock(STREAM))
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 2
    _add(r, 48000)
    kick(r, [STREAM])
    assert queue.count == 1
    assert evaluate_stream(r, STREAM, ctx) == 3
    assert _notifications(r) == 1  # 51000 -> 49000 crossed 50000 down, once
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_job_hands_its_worker_to_another_streams_waiting_job(
    r: redis.Redis, ctx: Context
) -> None:
    """After its slice, the batch that finds another stream's job queued ends the job; its
    stream goes on in a new job behind that one (and holds its flag: nothing else enqueues)."""
    ctx.delivers = ctx.places = False
    other = keys.ticks_stream(4)
    enqueue_evaluations(r, [other])
    _add(r, *range(60000, 60000 + 3 * FIRST_BATCH))
    assert evaluate_stream(r, STREAM, ctx, slice_seconds=0) == FIRST_BATCH
    queue = Queue(keys.EVALUATE_QUEUE, connection=r)
    assert [job.args for job in queue.get_jobs()] == [(other,), (STREAM,)]
    assert r.exists(keys.dirty(STREAM))
    r.delete(keys.rq_queue(keys.EVALUATE_QUEUE))
    # None waiting: the slice does not end the job; the stream drains within its budget.
    assert evaluate_stream(r, STREAM, ctx, slice_seconds=0) == 2 * FIRST_BATCH
    assert queue.count == 0
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_job_keeps_its_worker_while_the_queued_jobs_are_of_streams_being_drained(
    r: redis.Redis, ctx: Context
) -> None:
    """A queued job of its own stream (the watcher's, for news that came as the job was letting
    go) or of a stream another worker drains waits for no worker: the job drains on, instead of
    handing over every slice (workers/waiting.py)."""
    ctx.delivers = ctx.places = False
    other = keys.ticks_stream(4)
    enqueue_evaluations(r, [other, STREAM])
    r.set(keys.lock(other), "another worker")
    _add(r, *range(60000, 60000 + 3 * FIRST_BATCH))
    assert evaluate_stream(r, STREAM, ctx, slice_seconds=0) == 3 * FIRST_BATCH
    queue = Queue(keys.EVALUATE_QUEUE, connection=r)
    assert [job.args for job in queue.get_jobs()] == [(other,), (STREAM,)]  # none added
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_stream_with_a_short_slice_reads_what_it_evaluates_in_half_of_it(
    r: redis.Redis, ctx: Context
) -> None:
    ctx.costs[STREAM] = 0.02 / 25  # as measured by this process's earlier batches
    _add(r, *range(60000, 60000 + 100))
    assert evaluate_stream(r, STREAM, ctx, budget=0, slice_seconds=0.04) == 25


def test_a_backlog_larger_than_a_batch_drains_in_one_job(r: redis.Redis, ctx: Context) -> None:
    count = 2 * BATCH + 500
    _add(r, *range(60000, 60000 + count))
    assert evaluate_stream(r, STREAM, ctx) == count
    assert _last(r) == str(60000 + count - 1).encode()
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0
    assert ctx.latency.total == count


def test_a_large_pending_backlog_is_evaluated_before_newer_entries(
    r: redis.Redis, ctx: Context
) -> None:
    # Rising prices; a crosses_down rule would fire if any entry were taken out of order.
    r.xgroup_create(STREAM, keys.GROUP, id="0", mkstream=True)
    _add(r, *range(49000, 49000 + BATCH + 500))
    r.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"})  # a dead evaluator's reads
    _add(r, *range(51000, 51010))
    assert evaluate_stream(r, STREAM, ctx) == BATCH + 510
    assert _last(r) == b"51009"
    assert _notifications(r) == 0
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_trimmed_pending_entry_is_acked_and_skipped(r: redis.Redis, ctx: Context) -> None:
    r.xgroup_create(STREAM, keys.GROUP, id="0", mkstream=True)
    _add(r, 51000, 49000)
    r.xreadgroup(keys.GROUP, keys.CONSUMER, {STREAM: ">"})
    first, _ = _ids(r)
    r.xdel(STREAM, first)  # MAXLEN trimming removed it while it was pending
    assert evaluate_stream(r, STREAM, ctx) == 1
    assert _notifications(r) == 0  # no previous price: nothing crossed
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


def test_a_crossing_enqueues_one_notification_per_channel(r: redis.Redis, ctx: Context) -> None:
    _add(r, 51000, 49000)
    assert evaluate_stream(r, STREAM, ctx) == 2
    (job,) = Queue(keys.NOTIFY_QUEUE, connection=r).get_jobs()
    rule = ctx.ruleset.of(PriceRule)[0]
    _, second = _ids(r)
    firing = firing_of(rule.id, STREAM, second, 0)
    assert firing == f"{rule.id}@{STREAM}/{second}#0"
    message_id = keys.notify_job_id(firing, "desk")
    assert job.id == keys.notify_many_job_id([message_id])
    assert job.func_name == keys.NOTIFY_MANY_JOB
    channel, messages = job.args
    assert channel == "desk"
    assert [(m[0], m[3]) for m in messages] == [(message_id, firing)]
    assert job.retries_left == 5
    assert "json://" not in repr(job.args)


def test_a_job_out_of_time_hands_the_rest_to_a_new_job(r: redis.Redis, ctx: Context) -> None:
    _add(r, *range(60000, 60000 + 2 * BATCH + 10))
    assert evaluate_stream(r, STREAM, ctx, budget=0) == BATCH
    queue = Queue(keys.EVALUATE_QUEUE, connection=r)
    (job,) = queue.get_jobs()
    assert job.func_name == "workers.jobs.evaluate"
    assert job.args == (STREAM,)
    queue.empty()  # type: ignore[no-untyped-call]  # as rq dequeues it to run it
    assert evaluate_stream(r, STREAM, ctx) == BATCH + 10
    assert _last(r) == str(60000 + 2 * BATCH + 9).encode()
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


@pytest.mark.parametrize("slice_seconds", [60.0, 0.0])
def test_a_job_hands_its_worker_to_waiting_notifications_after_its_delivery_slice(
    r: redis.Redis, ctx: Context, monkeypatch: pytest.MonkeyPatch, slice_seconds: float
) -> None:
    """A worker that also delivers drains on while a notify job waits, until the job has run
    DELIVERY_SLICE_SECONDS; then the batch that finds it waiting ends the job."""
    monkeypatch.setattr(pace, "DELIVERY_SLICE_SECONDS", slice_seconds)
    ctx.delivers, ctx.places = True, False
    _drain_beside(r, ctx, keys.NOTIFY_QUEUE, "workers.jobs.flush", ("x",), not slice_seconds)


def _drain_beside(
    r: redis.Redis, ctx: Context, queue: str, func: str, args: tuple[object, ...], hands: bool
) -> None:
    """With a job of `func` waiting in `queue`, drain 2 * BATCH + 10 ticks: all of them, or
    (`hands`) one batch, the stream going on in a job queued behind."""
    Queue(queue, connection=r).enqueue_call(func, args)
    _add(r, *range(60000, 60000 + 2 * BATCH + 10))
    evaluated = evaluate_stream(r, STREAM, ctx)
    if not hands:
        assert evaluated == 2 * BATCH + 10
        assert Queue(keys.EVALUATE_QUEUE, connection=r).count == 0
        return
    assert evaluated == BATCH
    (job,) = Queue(keys.EVALUATE_QUEUE, connection=r).get_jobs()
    assert job.args == (STREAM,)


@pytest.mark.parametrize("places", [True, False])
def test_a_job_hands_its_worker_to_waiting_queued_orders(
    r: redis.Redis, ctx: Context, places: bool
) -> None:
    """A worker that also places queued orders stops draining after the batch that finds one
    waiting (round robin then takes it next); one that does not place drains on."""
    ctx.delivers, ctx.places = False, places
    _drain_beside(r, ctx, keys.ORDERS_QUEUE, "workers.jobs.place", ("x", 0), places)
    if not places:
        return
    r.delete(keys.rq_queue(keys.EVALUATE_QUEUE))  # as rq dequeues it to run it
    assert evaluate_stream(r, STREAM, ctx) == BATCH  # still waiting: one batch again
    r.delete(keys.rq_queue(keys.ORDERS_QUEUE))
    assert evaluate_stream(r, STREAM, ctx) == 10
    assert r.xpending(STREAM, keys.GROUP)["pending"] == 0


@pytest.mark.usefixtures("ctx")  # uninstalls the context this test installs
def test_a_latency_tolerant_worker_gathers_an_account_streams_burst_into_one_batch(
    r: redis.Redis, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a worker that evaluates no ticker stream and places no order (accounts,notify), a
    batch that found fewer entries than it asked waits until its oldest entry is
    GATHER_SECONDS old, and takes what came meanwhile: one batch, one notify job."""
    monkeypatch.setattr(pace, "GATHER_SECONDS", 1.0)
    path = tmp_path / "two.yaml"
    path.write_text(RULES + TWO)
    ctx = context.install(load_rules([path]))
    ctx.evaluates, ctx.places = (keys.ACCOUNTS_QUEUE,), False
    stream = keys.private_stream("okx", "main")
    r.xgroup_create(stream, keys.GROUP, id="0", mkstream=True)  # so XPENDING can be asked
    _add(r, 51000, 49000, stream=stream)  # a crossing
    evaluated: list[int] = []
    job = threading.Thread(target=lambda: evaluated.append(evaluate_stream(r, stream, ctx)))
    job.start()
    try:
        wait_until(lambda: r.xpending(stream, keys.GROUP)["pending"] == 2, what="the read")
        _add(r, 3100, 2900, stream=stream, market="ETH-USDT")  # another rule's, meanwhile
    finally:
        job.join(timeout=10)
    assert evaluated == [4]
    (notify,) = Queue(keys.NOTIFY_QUEUE, connection=r).get_jobs()
    _, messages = notify.args
    assert len(messages) == 2
