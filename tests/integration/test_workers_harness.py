"""The workers' test harness: a local HTTP endpoint for apprise, rule files, entries written as
the watcher writes them, and burst rq workers run in process. Holds no tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from klaxon.inbox import Inbox as LocalInbox
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Event, Fill, TickRow, decode_event, encode_event, encode_ticks
from workers import context
from workers.service import load, make_worker

STREAM = keys.ticks_stream(0)
PRIVATE = keys.private_stream("okx", "main")
# A token-like path and password: neither may appear in any log line or job error.
SECRET = "s3cr3t-hook-7f2a9c"


class Inbox(LocalInbox):
    """The local channel (klaxon.inbox) behind a URL with a password and a token-like path."""

    def __init__(self) -> None:
        super().__init__()
        self.start()
        self.hook = f"json://hook:{SECRET}@127.0.0.1:{self.port}/{SECRET}"

    @property
    def posts(self) -> list[tuple[float, int, dict[str, Any]]]:
        """Every delivery attempt: (monotonic time, status answered, body)."""
        return self.attempts

    def accepted(self) -> list[dict[str, Any]]:
        """Return the bodies the endpoint answered with success."""
        return [body for _, status, body in self.attempts if status == 200]

    def close(self) -> None:
        self.stop()


class Klaxon:
    """Rule files in tmp_path, entries written as the watcher does, burst workers on demand."""

    def __init__(self, redis_url: str, tmp_path: Path, inbox: Inbox) -> None:
        self.redis_url = redis_url
        self.tmp_path = tmp_path
        self.inbox = inbox
        self.r = redis.Redis.from_url(redis_url)
        self.paths: list[Path] = []

    def rules(self, rules_yaml: str, channels: str | None = None) -> list[Path]:
        """Write a rule file whose channel `desk` is the inbox (or `channels`, a YAML block
        that may say {hook} for the inbox's URL), and load it into this process."""
        block = channels or '  desk: "{hook}"\n'
        block = block.replace("{hook}", self.inbox.hook)
        path = self.tmp_path / "rules.yaml"
        path.write_text(f"channels:\n{block}rules:\n{rules_yaml}")
        self.paths = [path]
        load(self.paths)
        return self.paths

    def ticks(self, *prices: str, stream: str = STREAM, market: str = "BTC-USDT") -> str:
        """XADD one ticks entry as the watcher does, and kick an evaluation if none is queued."""
        ms = int(time.time() * 1000)
        rows: list[TickRow] = [(market, "last", p, "", "", ms) for p in prices]
        entry = self.r.xadd(stream, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(rows)})
        self.kick(stream)
        return text_id(entry)

    def fill(self, trade_id: str, side: str = "buy") -> str:
        """XADD one fill to the account's private stream, as the watcher does."""
        event = Fill(
            venue="okx",
            account="main",
            market="BTC-USDT",
            side="buy" if side == "buy" else "sell",
            price=Decimal("65000.1"),
            size=Decimal("0.010"),
            fee=Decimal("-0.0065"),
            fee_ccy="USDT",
            trade_id=trade_id,
            order_id="o-1",
            at=datetime.now(UTC),
        )
        entry = self.r.xadd(PRIVATE, {b"k": b"fill", b"d": encode_event(event)})
        self.kick(PRIVATE)
        return text_id(entry)

    def kick(self, stream: str, force: bool = False) -> None:
        """SET the dirty flag NX and enqueue an evaluation only when it was not set."""
        if self.r.set(keys.dirty(stream), 1, nx=True, ex=10) or force:
            Queue(keys.evaluate_queue(stream), connection=self.r).enqueue(keys.EVALUATE_JOB, stream)

    def work(self) -> None:
        """Run one burst worker in this thread (rules stay loaded, like a long-lived worker)."""
        make_worker(self.r).work(burst=True, with_scheduler=True)

    def work_until(self, predicate: Callable[[], object], timeout: float, what: str) -> None:
        """Run burst workers until `predicate` holds (each burst first enqueues the flushes
        and retries that rq's scheduler has due), failing after `timeout` seconds."""

        def done() -> bool:
            self.work()
            return bool(predicate())

        wait_until(done, timeout=timeout, what=what, every=0.02)

    def fast_forward(self, channel: str = "desk") -> None:
        """Let `channel` send now: lift its back-off and make every scheduled job due."""
        self.r.hdel(keys.channel_state(channel), "blocked")
        queue = Queue(keys.NOTIFY_QUEUE, connection=self.r)
        registry = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
        for job_id in registry.get_job_ids():
            registry.schedule(Job.fetch(job_id, connection=self.r), datetime.now(UTC))

    def messages(self) -> list[str]:
        return [body["message"] for body in self.inbox.accepted()]


@contextmanager
def harness(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    """An inbox and a Klaxon over this test's Redis; rules are uninstalled afterwards."""
    inbox = Inbox()
    kx = Klaxon(redis_url, tmp_path, inbox)
    kx.r.xgroup_create(STREAM, keys.GROUP, id="0", mkstream=True)
    try:
        yield kx
    finally:
        context.uninstall()
        kx.r.close()
        inbox.close()


CROSS_UP = """\
  - name: btc-up
    price: {market: BTC-USDT, crosses_up: "65000"}
    notify: [desk]
    message: "{market} {op} {level} at {price} (prev {prev})"
"""


FILL_EVERY = """\
  - name: fills
    fill: {account: main}
    notify: [desk]
    message: "{side} {size} {market} @ {price} fee {fee} {fee_ccy} trade {trade_id}"
"""


def stream_events(r: redis.Redis, stream: str) -> list[Event]:
    """Every event entry of a stream (tick entries aside), decoded, oldest first."""
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], r.xrange(stream))
    return [decode_event(fields[b"d"]) for _, fields in entries if fields[b"k"] != b"ticks"]


def text_id(entry_id: bytes | str) -> str:
    """Return a stream entry id as text."""
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def ticks_data(*prices: str) -> bytes:
    """Return the `d` field of a ticks entry of BTC-USDT last prices, as the watcher writes it."""
    return encode_ticks([("BTC-USDT", "last", p, "", "", int(time.time() * 1000)) for p in prices])


def fill_data(trade_id: str, account: str = "main") -> bytes:
    """Return the `d` field of a private-stream fill entry, as the watcher writes it."""
    fill = Fill(
        venue="okx",
        account=account,
        market="BTC-USDT",
        side="sell",
        price=Decimal("64999.9"),
        size=Decimal("0.5"),
        trade_id=trade_id,
        order_id="o-2",
        at=datetime.now(UTC),
    )
    return encode_event(fill)


def in_threads(n: int, target: Callable[[], None]) -> None:
    """Run `target` in n threads released together; re-raise the first failure."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=5)
            target()
        except Exception as e:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]
