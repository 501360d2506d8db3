"""The Redis key formats are a data contract: changing one needs a migration, so they are pinned."""

from __future__ import annotations

import re

import pytest
import redis
from rq import Queue

from watcher import keys


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (keys.ticks_stream(3), "klaxon:ticks:3"),
        (keys.private_stream("okx", "main"), "klaxon:private:okx:main"),
        (keys.dirty("klaxon:ticks:3"), "klaxon:dirty:klaxon:ticks:3"),
        (keys.lock("klaxon:ticks:3"), "klaxon:lock:klaxon:ticks:3"),
        (keys.last_prices("klaxon:ticks:3"), "klaxon:last:klaxon:ticks:3"),
        (keys.last_price_field("okx", "BTC-USDT", "last"), "okx|BTC-USDT|last"),
        (keys.kind_state("klaxon:ticks:3", "trailing"), "klaxon:state:klaxon:ticks:3:trailing"),
        (keys.state_token("klaxon:ticks:3"), "klaxon:statetoken:klaxon:ticks:3"),
        (keys.claim("r-1"), "klaxon:claim:r-1"),
        (keys.delivered("notify-ab"), "klaxon:sent:notify-ab"),
        (keys.firing_id("r-1", "1-0", 2), "r-1@1-0#2"),
        (keys.EVALUATE_QUEUE, "klaxon-evaluate"),
        (keys.NOTIFY_QUEUE, "klaxon-notify"),
        (keys.ACCOUNTS_QUEUE, "klaxon-accounts"),
        (keys.evaluate_queue("klaxon:ticks:3"), "klaxon-evaluate"),
        (keys.evaluate_queue("klaxon:private:okx:main"), "klaxon-accounts"),
        (keys.evaluate_queue(keys.SYSTEM_STREAM), "klaxon-accounts"),
        (keys.GROUP, "evaluators"),
        (keys.STATS, "klaxon:stats"),
        (keys.DEAD_LETTERS, "klaxon:dead"),
        (keys.DEAD_LETTER_DATA, "klaxon:dead:msgs"),
        (keys.outbox("desk"), "klaxon:outbox:desk"),
        (keys.outbox_messages("desk"), "klaxon:outbox:desk:msgs"),
        (keys.channel_state("desk"), "klaxon:chan:desk"),
        (keys.channel_lock("desk"), "klaxon:chan:desk:lock"),
        (keys.send_log("desk", 60000), "klaxon:chan:desk:sent:60000"),
        (keys.alone_log("desk"), "klaxon:chan:desk:alone"),
        (keys.flush_job_id("desk", "t1"), "flush-46e7cfa080913f4d-t1"),
        (keys.fallback_message_id("notify-ab", "mail"), "notify-ab~mail"),
        (keys.seen("okx", "main"), "klaxon:seen:okx:main"),
        (keys.seen_fill("BTC-USDT", "242589207"), "fill|BTC-USDT|242589207"),
        (keys.seen_order("680800019749904384", "ab12"), "order|680800019749904384|ab12"),
        (keys.backfill_mark("okx", "main"), "klaxon:backfill:okx:main"),
        (keys.key_permissions("okx", "main"), "klaxon:key:okx:main"),
        (keys.rq_queue("klaxon-notify"), "rq:queue:klaxon-notify"),
        (keys.STAT_TICKS_IN, "ticks_in"),
        (keys.STAT_EVENTS_IN, "events_in"),
        (keys.STAT_UNDECODABLE, "undecodable"),
        (keys.STAT_DELIVERED, "delivered"),
        (keys.STAT_DIGESTS, "digests"),
        (keys.STAT_THROTTLED, "throttled"),
        (keys.STAT_DEAD_LETTERS, "dead_letters"),
        (keys.stat_malformed("okx", "public"), "malformed:okx:public"),
        (keys.stat_unpublishable("okx"), "unpublishable:okx"),
        (keys.latency_field("decision", 5), "decision_le_5ms"),
        (keys.latency_field("enqueued", 60_000, over=True), "enqueued_over_60000ms"),
        (keys.EVALUATE_JOB, "workers.jobs.evaluate"),
        (keys.NOTIFY_JOB, "workers.jobs.notify"),
        (keys.NOTIFY_MANY_JOB, "workers.jobs.notify_many"),
        (keys.FLUSH_JOB, "workers.jobs.flush"),
        (keys.STAT_DUPLICATES, "duplicates_dropped"),
        (keys.RULES, "klaxon:rules"),
        (keys.RULES_VERSION, "version"),
        (keys.RULES_SERIES, "series"),
        (keys.RULES_PUBLISHED, "published"),
        (keys.SYSTEM_STREAM, "klaxon:system"),
        (keys.RULES_THRESHOLDS, "thresholds"),
        (keys.ORDERS_QUEUE, "klaxon-orders"),
        (keys.PLACE_JOB, "workers.jobs.place"),
        (keys.STAT_ORDERS_PLACED, "orders_placed"),
        (keys.STAT_ORDERS_REJECTED, "orders_rejected"),
        (keys.rule_tag("btc-stop"), "3faa5ad3"),
        (
            keys.client_order_id("btc-stop", "r@klaxon:ticks:3/1-0#0"),
            "kx3faa5ad331fd797abf694eca9a1ce2",
        ),
        (keys.emulated("kx1"), "klaxon:emulated:kx1"),
        (keys.order_guard("r-1"), "klaxon:guard:r-1"),
        (keys.order_lease("kx1"), "klaxon:lease:kx1"),
        (keys.order_window("okx:main"), "klaxon:orders:window:okx:main"),
        (keys.armed("r-1"), "klaxon:armed:r-1"),
        (keys.place_job_id("kx1", 2), "place-kx1-2"),
        (keys.place_job_id("kx1", 2, "ab"), "place-kx1-2-ab"),
        (keys.firing_stream("r-1@klaxon:ticks:3/1-0#0"), "klaxon:ticks:3"),
        (keys.firing_entry("r-1@klaxon:ticks:3/1-0#0"), "1-0"),
    ],
)
def test_key_formats_are_pinned(built: str, expected: str) -> None:
    assert built == expected


def test_rq_queue_is_the_list_rq_itself_reads() -> None:
    for name in (keys.EVALUATE_QUEUE, keys.ORDERS_QUEUE, keys.ACCOUNTS_QUEUE, keys.NOTIFY_QUEUE):
        assert keys.rq_queue(name) == Queue(name, connection=redis.Redis()).key


def test_partition_is_stable_and_in_range() -> None:
    # crc32, not hash(): the same market lands in the same partition in every process.
    assert keys.partition("okx", "BTC-USDT", 16) == keys.partition("okx", "BTC-USDT", 16)
    assert keys.partition("okx", "BTC-USDT", 16) == 12  # crc32(b"okx:BTC-USDT") % 16
    spread = {keys.partition("okx", f"M{i}-USDT", 16) for i in range(200)}
    assert spread == set(range(16))


def test_notify_job_id_is_deterministic_and_rq_safe() -> None:
    a = keys.notify_job_id("r-1@1-0#0", "desk")
    assert a == keys.notify_job_id("r-1@1-0#0", "desk")
    assert a != keys.notify_job_id("r-1@1-0#0", "ops")
    assert a != keys.notify_job_id("r-1@2-0#0", "desk")
    assert re.fullmatch(r"notify-[0-9a-f]{32}", a)


def test_notify_many_job_id_names_its_messages_in_order() -> None:
    a = keys.notify_many_job_id(["notify-1", "notify-2"])
    assert a == keys.notify_many_job_id(["notify-1", "notify-2"])
    assert a != keys.notify_many_job_id(["notify-2", "notify-1"])
    assert a != keys.notify_many_job_id(["notify-1"])
    assert re.fullmatch(r"notify-many-[0-9a-f]{32}", a)


def test_a_seen_fill_member_gives_back_its_market_and_others_none() -> None:
    member = keys.seen_fill("BTCUSDT", "28457")
    assert keys.seen_fill_market(member) == "BTCUSDT"
    assert keys.seen_fill_market(member.encode()) == "BTCUSDT"
    assert re.fullmatch(keys.SEEN_FILLS.replace("|", r"\|").replace("*", ".*"), member)
    assert keys.seen_fill_market(keys.seen_order("1", "ab12")) is None
    assert keys.seen_fill_market("fill|28457") is None
