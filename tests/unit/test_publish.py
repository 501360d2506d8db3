"""Publisher against a real redis-server: streams, trimming, dirty flags and rq jobs."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from rq import Queue
from rq.job import Job

from watcher import keys
from watcher.events import FeedStatus, Fill, OrderUpdate, TickRow, decode_event, decode_ticks
from watcher.publish import SEEN_TTL_MS, Publisher
from watcher.roundtrip import Command, round_trip
from watcher.venues import Parsed
from watcher.venues.okx import Okx

DATA = Path(__file__).resolve().parents[1] / "data" / "okx"
PARTITIONS = 4
PRIVATE = keys.private_stream("okx", "main")


Entry = tuple[bytes, dict[bytes, bytes]]


def entries(r: redis.Redis, stream: str, count: int | None = None) -> list[Entry]:
    """A stream's entries, oldest first (typed: redis-py's own types are loose)."""
    return cast(list[Entry], r.xrange(stream, count=count))


def rows(*markets: str, ms: int = 1597026383085) -> list[TickRow]:
    """Tick rows for these markets (our own canonical rows, not exchange data)."""
    return [(m, "last", "9999.99", "8888.88", "9999.99", ms) for m in markets]


def order_events(n: int = 0) -> Parsed:
    """The documented orders push: an OrderUpdate and its Fill; with `n`, the n-th next trade
    of the order (trade id and update time moved by n), which the publisher writes again."""
    parsed = Okx("main").parse((DATA / "okx_ws_orders_push.json").read_bytes(), feed="private")
    if not n:
        return parsed
    order, fill = parsed.events
    assert isinstance(order, OrderUpdate)
    assert isinstance(fill, Fill)
    later = order.at + timedelta(milliseconds=n)
    return Parsed(
        [],
        [
            order.model_copy(update={"at": later}),
            fill.model_copy(update={"trade_id": f"{fill.trade_id}{n}", "at": later}),
        ],
    )


def jobs(r: redis.Redis) -> list[Job]:
    """Every evaluate job waiting, the ticker streams' then the others', oldest first."""
    queues = (keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE)
    return [job for q in queues for job in Queue(q, connection=r).get_jobs()]


def jobs_per_stream(r: redis.Redis) -> dict[str, int]:
    """How many evaluate jobs wait for each stream."""
    counts: dict[str, int] = defaultdict(int)
    for job in jobs(r):
        counts[job.args[0]] += 1
    return dict(counts)


def stream_of(market: str) -> str:
    """The ticker stream a market lands in."""
    return keys.ticks_stream(keys.partition("okx", market, PARTITIONS))


MARKETS = [f"COIN{i}-USDT" for i in range(12)]


@pytest.fixture
def publisher(r: redis.Redis) -> Publisher:
    """A publisher for okx/main over four partitions."""
    return Publisher(r, "okx", "main", PARTITIONS)


def test_ticks_land_as_one_entry_per_partition_per_batch(
    r: redis.Redis, publisher: Publisher
) -> None:
    batch = [Parsed(rows(*MARKETS[:6]), []), Parsed(rows(*MARKETS[6:], ms=1597026383999), [])]
    assert len({stream_of(m) for m in MARKETS}) > 1  # the test needs several partitions
    publisher.publish(batch)
    expected: dict[str, list[list[object]]] = defaultdict(list)
    for parsed in batch:
        for row in parsed.ticks:
            expected[stream_of(row[0])].append(list(row))
    for part in range(PARTITIONS):
        stream = keys.ticks_stream(part)
        found = entries(r, stream)
        if stream not in expected:
            assert found == []
            continue
        ((_, fields),) = found
        assert fields[b"k"] == b"ticks"
        assert fields[b"v"] == b"okx"
        assert decode_ticks(fields[b"d"]) == expected[stream]
        assert int(fields[b"t"]) == publisher.last_publish_ms
    assert r.xlen(PRIVATE) == 0


def test_private_events_are_never_trimmed(r: redis.Redis) -> None:
    publisher = Publisher(r, "okx", "main", PARTITIONS, maxlen=10)
    for n in range(300):
        publisher.publish([order_events(n), Parsed(rows("BTC-USDT"), [])])
    assert r.xlen(PRIVATE) == 600
    assert r.xlen(stream_of("BTC-USDT")) < 300  # market data is capped (approximately)
    kinds = [fields[b"k"] for _, fields in entries(r, PRIVATE, 2)]
    assert kinds == [b"order", b"fill"]
    _, fields = entries(r, PRIVATE, 1)[0]
    assert decode_event(fields[b"d"]) == order_events().events[0]
    assert isinstance(decode_event(fields[b"d"]), OrderUpdate)


def test_one_job_per_stream_while_the_flag_is_set(r: redis.Redis, publisher: Publisher) -> None:
    btc = stream_of("BTC-USDT")
    for _ in range(5):
        publisher.publish([Parsed(rows("BTC-USDT"), []), order_events()])
    assert jobs_per_stream(r) == {btc: 1, PRIVATE: 1}
    for stream in (btc, PRIVATE):
        assert r.get(keys.dirty(stream)) == b"1"
        assert 0 < r.ttl(keys.dirty(stream)) <= 10
    job = jobs(r)[0]
    assert job.func_name == "workers.jobs.evaluate"
    assert (job.timeout, job.result_ttl, job.failure_ttl) == (300, 60, 86400)
    # The evaluator clears the flag before draining: the next news queues a new job.
    r.delete(keys.dirty(btc))
    publisher.publish([Parsed(rows("BTC-USDT"), [])])
    assert jobs_per_stream(r) == {btc: 2, PRIVATE: 1}


def test_a_batch_costs_only_its_xadds_and_flags(r: redis.Redis, publisher: Publisher) -> None:
    markets = ["BTC-USDT", next(m for m in MARKETS if stream_of(m) != stream_of("BTC-USDT"))]
    publisher.publish([Parsed(rows(*markets), []), order_events()])  # flags now set
    r.config_resetstat()
    publisher.publish([Parsed(rows(*markets), []), order_events(1)])
    stats = r.info("commandstats")
    calls = {name: stat["calls"] for name, stat in stats.items()}
    calls.pop("cmdstat_info", None)
    calls.pop("cmdstat_config|resetstat", None)
    # two partitions + two private events, the two counters, one SET NX per touched stream;
    # an order state or a fill is written by a script: ZADD NX, trim, PEXPIRE, XADD.
    assert calls == {
        "cmdstat_xadd": 4,
        "cmdstat_hincrby": 2,
        "cmdstat_set": 3,
        "cmdstat_eval": 2,
        "cmdstat_zadd": 2,
        "cmdstat_zremrangebyscore": 2,
        "cmdstat_pexpire": 2,
    }


def test_a_batch_is_one_round_trip(r: redis.Redis, publisher: Publisher) -> None:
    markets = ["BTC-USDT", *(m for m in MARKETS if stream_of(m) != stream_of("BTC-USDT"))]
    publisher.publish([Parsed(rows(*markets), []), order_events()])  # flags now set: no job
    before = r.info("stats")["total_reads_processed"]
    publisher.publish([Parsed(rows(*markets), []), order_events(1)])
    after = r.info("stats")["total_reads_processed"]
    assert r.xlen(PRIVATE) == 4
    assert after - before == 2  # the batch's one write, and the INFO that reads the count


def test_counters_count_rows_and_private_events(r: redis.Redis, publisher: Publisher) -> None:
    publisher.publish([Parsed(rows(*MARKETS[:5]), []), Parsed(rows("BTC-USDT"), [])])
    publisher.publish([order_events(), Parsed(rows("ETH-USDT"), [])])
    publisher.publish([order_events(1)])
    stats = r.hgetall(keys.STATS)
    assert stats[keys.STAT_TICKS_IN.encode()] == b"7"
    # two orders pushes: an OrderUpdate and a Fill each
    assert stats[keys.STAT_EVENTS_IN.encode()] == b"4"
    assert r.xlen(PRIVATE) == 4
    assert (
        sum(len(decode_ticks(f[b"d"])) for s in publisher.streams()[:-1] for _, f in entries(r, s))
        == 7
    )


def test_a_fill_or_order_state_is_written_once(r: redis.Redis, publisher: Publisher) -> None:
    publisher.publish([order_events()])
    # The same push again, and the same events fetched late: nothing more is written.
    late = [e.model_copy(update={"late": True}) for e in order_events().events]
    publisher.publish([order_events(), Parsed([], late)])
    assert [fields[b"k"] for _, fields in entries(r, PRIVATE)] == [b"order", b"fill"]
    assert r.hget(keys.STATS, keys.STAT_DUPLICATES) == b"4"
    assert r.hget(keys.STATS, keys.STAT_EVENTS_IN) == b"6"  # offered
    # The next trade of the order is a new fill and a new order state.
    publisher.publish([order_events(1)])
    events = [decode_event(fields[b"d"]) for _, fields in entries(r, PRIVATE)]
    fills = [e.trade_id for e in events if isinstance(e, Fill)]
    assert fills == ["242589207", "2425892071"]
    assert len([e for e in events if isinstance(e, OrderUpdate)]) == 2
    assert 0 < r.pttl(keys.seen("okx", "main")) <= SEEN_TTL_MS


def test_a_state_differing_in_any_field_is_written(r: redis.Redis, publisher: Publisher) -> None:
    (order, _) = order_events().events
    assert isinstance(order, OrderUpdate)
    publisher.publish([Parsed([], [order])])
    publisher.publish([Parsed([], [order.model_copy(update={"message": "amend failed"})])])
    publisher.publish([Parsed([], [order.model_copy(update={"late": True})])])
    messages = [decode_event(fields[b"d"]) for _, fields in entries(r, PRIVATE)]
    assert [getattr(e, "message", None) for e in messages] == ["", "amend failed"]


def test_what_was_seen_is_forgotten_after_its_ttl(r: redis.Redis, publisher: Publisher) -> None:
    seen = keys.seen("okx", "main")
    (_, fill) = order_events().events
    member = keys.seen_fill("BTC-USDT", "242589207")
    r.zadd(seen, {"fill|BTC-USDT|other": 1, member: 2})  # written long ago
    publisher.publish([Parsed([], [fill])])  # its record is older than the TTL: trimmed first
    assert [fields[b"k"] for _, fields in entries(r, PRIVATE)] == [b"fill"]
    assert r.zrange(seen, 0, -1) == [member.encode()]
    assert (r.zscore(seen, member) or 0) > 2


def test_feed_status_goes_to_the_private_stream(r: redis.Redis, publisher: Publisher) -> None:
    status = Okx("main").parse((DATA / "okx_ws_login_success.json").read_bytes(), "private")
    publisher.publish([status])
    ((_, fields),) = entries(r, PRIVATE)
    assert fields[b"k"] == b"feed"
    event = decode_event(fields[b"d"])
    assert isinstance(event, FeedStatus)
    assert event.status == "logged_in"


def test_empty_batches_touch_nothing(r: redis.Redis, publisher: Publisher) -> None:
    publisher.publish([Parsed([], []), Parsed([], [])])
    assert r.dbsize() == 0


def test_kick_queues_every_unflagged_stream(r: redis.Redis, publisher: Publisher) -> None:
    publisher.publish([Parsed(rows("BTC-USDT"), [])])
    publisher.kick()
    every = [keys.ticks_stream(p) for p in range(PARTITIONS)] + [PRIVATE]
    assert jobs_per_stream(r) == dict.fromkeys(every, 1)
    publisher.kick()  # flags still set: nothing new
    assert len(jobs(r)) == len(every)
    r.delete(keys.dirty(PRIVATE))  # as if the flag expired with its evaluator
    publisher.kick()
    assert jobs_per_stream(r)[PRIVATE] == 2
    assert len(jobs(r)) == len(every) + 1


def test_count_malformed(r: redis.Redis, publisher: Publisher) -> None:
    publisher.count_malformed("public")
    publisher.count_malformed("public")
    publisher.count_malformed("private")
    assert r.hgetall(keys.STATS) == {b"malformed:okx:public": b"2", b"malformed:okx:private": b"1"}


def test_ensure_groups_on_every_stream(r: redis.Redis, publisher: Publisher) -> None:
    publisher.ensure_groups()
    publisher.ensure_groups()  # BUSYGROUP is fine
    for stream in [keys.ticks_stream(p) for p in range(PARTITIONS)] + [PRIVATE]:
        (group,) = r.xinfo_groups(stream)
        assert group["name"] == keys.GROUP.encode()
    publisher.publish([order_events()])
    read = cast(list[Any], r.xreadgroup(keys.GROUP, keys.CONSUMER, {PRIVATE: ">"}))
    assert len(read[0][1]) == 2


def test_round_trip_reads_every_reply_before_raising_an_error_reply(r: redis.Redis) -> None:
    r.set("a-string", "x")
    commands: list[Command] = [
        (b"SET", "k1", b"1", b"NX"),
        (b"XADD", "a-string", b"*", b"f", b"v"),  # WRONGTYPE: an error reply mid-batch
        (b"SET", "k1", b"2", b"NX"),
        (b"INCRBY", "n", 5),
    ]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        round_trip(r, commands)
    assert (r.get("k1"), r.get("n")) == (b"1", b"5")  # what followed the error ran
    # The connection went back to the pool in step: the next replies are the next commands'.
    assert round_trip(r, [(b"SET", "k1", b"3", b"NX"), (b"INCRBY", "n", 1)]) == [None, 6]
    assert round_trip(r, [(b"GET", "k1")]) == [b"1"]
    assert round_trip(r, []) == []


def test_round_trip_reconnects_a_pooled_connection_the_server_dropped(
    r: redis.Redis, redis_url: str
) -> None:
    old_id = r.client_id()
    with redis.Redis.from_url(redis_url) as other:
        assert other.client_kill_filter(_id=old_id) == 1
    assert round_trip(r, [(b"INCRBY", "n", 2)]) == [2]
    assert r.client_id() != old_id


def test_what_does_not_encode_is_dropped_counted_and_the_rest_written(
    r: redis.Redis, publisher: Publisher, caplog: pytest.LogCaptureFixture
) -> None:
    # No venue check lets these through; if one ever did, the batch must still be written.
    good = rows("BTC-USDT")[0]
    huge_ms = (*good[:5], 2**70)  # orjson refuses integers past 64 bits
    status = FeedStatus(
        venue="okx", feed="private", status="error", detail="lone \ud800", at=datetime.now(UTC)
    )  # JSON cannot hold a lone surrogate
    fill_batch = order_events()
    publisher.publish([Parsed([good, huge_ms], [status]), fill_batch])
    ((_, fields),) = entries(r, stream_of("BTC-USDT"))
    assert decode_ticks(fields[b"d"]) == [list(good)]
    assert [decode_event(f[b"d"]) for _, f in entries(r, PRIVATE)] == fill_batch.events
    stats = r.hgetall(keys.STATS)
    assert stats[b"unpublishable:okx"] == b"2"
    assert stats[b"ticks_in"] == b"1"
    assert stats[b"events_in"] == str(len(fill_batch.events)).encode()
    assert "dropped a tick row" in caplog.text
    assert "dropped a feed event" in caplog.text
    publisher.publish([Parsed([huge_ms], [])])  # nothing left to write: only the count
    assert r.hget(keys.STATS, "unpublishable:okx") == b"3"
    assert len(entries(r, stream_of("BTC-USDT"))) == 1
