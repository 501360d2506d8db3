"""A Binance listen key that cannot be extended (a local REST server answering 503) is a feed
condition the monitor reports, routed by a feed rule through a real rq burst worker and apprise
to the local inbox, and its end once a keepalive passes."""

from __future__ import annotations

import re

import orjson
import redis

from tests.integration.test_workers_harness import Klaxon, stream_events
from tests.local_http import LocalHttp, Reply
from tests.waiting import wait_until
from watcher import keys
from watcher.events import FeedStatus
from watcher.monitor import Monitor, MonitorOptions
from watcher.publish import Publisher
from watcher.stream import Stream
from watcher.venues.binance import Binance, BinanceCredentials, ListenKeys

CREDS = BinanceCredentials(api_key="key-5a5a", secret_key="secret-6b6b")
KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"  # the documented one
PRIVATE = keys.private_stream("binance", "main")
OPTIONS = MonitorOptions(interval=0.05, settle=0.2, down=(3600.0,))


def reports(r: redis.Redis) -> list[FeedStatus]:
    found = stream_events(r, PRIVATE)
    return [e for e in found if isinstance(e, FeedStatus) and e.since is not None]


def test_a_listen_key_not_extended_is_reported_and_so_is_its_end(
    kx: Klaxon, local: LocalHttp
) -> None:
    kx.rules(
        "  - name: key\n    feed: {state: listen_key, venue: binance, recovered: true}\n"
        "    notify: [desk]\n"
    )
    venue = Binance("main", CREDS, stream_url="ws://127.0.0.1:9", rest_url=local.url)
    # Keepalives every 50 ms instead of 30 minutes.
    venue.listen_keys = ListenKeys(venue.trading(), venue.stream_url, interval=0.05, retry=0.05)
    (feed,) = venue.feeds([], private=True)
    publisher = Publisher(kx.r, "binance", "main", 4)
    publisher.ensure_groups()
    monitor = Monitor(kx.r, [(Stream(feed, publisher), publisher)], [PRIVATE], OPTIONS)
    local.replies.append(Reply(body=orjson.dumps({"listenKey": KEY})))
    local.default = Reply(503, b"busy")  # every keepalive fails
    try:
        assert feed.url().endswith(KEY)  # as the stream asks at its connect
        wait_until(lambda: feed.trouble is not None and feed.trouble(), 5, "a failed keepalive")
        monitor.check()
        kx.work()
        assert kx.messages() == [
            "[key] binance/main private feed listen key not extended"
            " (binance: could not extend the listen key (OutcomeUnknown))"
        ]
        local.default = Reply(body=b"{}")  # keepalives pass again

        def over() -> bool:
            monitor.check()
            return len(reports(kx.r)) == 2

        wait_until(over, 5, "the recovery, reported")
    finally:
        venue.close()
    kx.work()
    recovery = r"\[key\] binance/main private feed recovered: listen key not extended for [\d.]+s"
    assert re.fullmatch(recovery, kx.messages()[1])
    assert [(s.status, s.code) for s in reports(kx.r)] == [
        ("listen_key", ""),
        ("recovered", "listen_key"),
    ]
    assert KEY not in str(kx.inbox.accepted())
