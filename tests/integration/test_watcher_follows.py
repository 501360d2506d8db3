"""The watcher follows the published rules version: the real watcher on the OKX simulator moves
its public feed to the series of each new version (a reconnect with the new subscription) and
leaves it alone when the series did not change."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import redis

from klaxon.wiring import MarketFollower
from simulator import Simulator
from tests.integration.sim_client import _control, _state, okx_account
from tests.integration.test_stream import entries
from tests.waiting import wait_until
from watcher import keys
from watcher.events import decode_ticks
from watcher.publish import Publisher
from watcher.published import publish
from watcher.service import Watcher
from watcher.stream import StreamOptions

FAST = StreamOptions(backoff_base=0.05, backoff_cap=0.2)


def _public(sim: Simulator) -> list[tuple[int, list[str]]]:
    """Each public connection: its id and the markets it is subscribed to."""
    clients = _state(sim)["clients"]["public"]
    return [(c["connId"], sorted(s["instId"] for s in c["subscriptions"])) for c in clients]


def _markets(r: redis.Redis) -> set[str]:
    """The markets of every tick row in the ticker streams."""
    found: set[str] = set()
    for part in range(2):
        for _, fields in entries(r, keys.ticks_stream(part)):
            found |= {str(row[0]) for row in decode_ticks(fields[b"d"])}
    return found


@pytest.fixture
def watching(sim: Simulator, r: redis.Redis) -> Iterator[tuple[Watcher, MarketFollower]]:
    watcher = Watcher(
        okx_account(sim), Publisher(r, "okx", "main", 2), {("BTC-USDT", "last")}, options=FAST
    )
    first = publish(r, "v1", [("okx", "BTC-USDT", "last")])
    follower = MarketFollower(r, [watcher], first)
    thread = threading.Thread(target=watcher.run, name="follow-watcher")
    thread.start()
    try:
        wait_until(lambda: _public(sim) and _public(sim)[0][1] == ["BTC-USDT"], 10, "subscribed")
        yield watcher, follower
    finally:
        watcher.stop()
        thread.join(15)
    assert not thread.is_alive()


def test_a_new_version_moves_the_public_feed_to_its_series(
    sim: Simulator, r: redis.Redis, watching: tuple[Watcher, MarketFollower]
) -> None:
    watcher, follower = watching
    ((first_conn, _),) = _public(sim)
    assert not follower.poll()  # nothing new
    publish(
        r,
        "v2",
        [("okx", "BTC-USDT", "last"), ("okx", "ETH-USDT", "last"), ("bybit", "BTCUSDT", "last")],
    )
    assert follower.poll()
    assert watcher.series == {("BTC-USDT", "last"), ("ETH-USDT", "last")}  # okx's share
    wait_until(
        lambda: [m for _, m in _public(sim)] == [["BTC-USDT", "ETH-USDT"]], 10, "resubscribed"
    )
    assert _public(sim)[0][0] != first_conn  # a new connection: the old one is closed
    _control(sim, "price", {"instId": "ETH-USDT", "price": "3012.5"})
    wait_until(lambda: "ETH-USDT" in _markets(r), 10, "ETH-USDT ticks in Redis")


def test_a_new_version_with_the_same_series_keeps_the_connection(
    sim: Simulator, r: redis.Redis, watching: tuple[Watcher, MarketFollower]
) -> None:
    watcher, follower = watching
    before = _public(sim)
    publish(r, "v2", [("okx", "BTC-USDT", "last")])
    assert follower.poll()
    assert follower.version == "v2"
    assert not watcher.resubscribe({("BTC-USDT", "last")})
    assert _public(sim) == before


def test_a_series_the_venue_refuses_keeps_the_running_feed(
    sim: Simulator,
    r: redis.Redis,
    watching: tuple[Watcher, MarketFollower],
    caplog: pytest.LogCaptureFixture,
) -> None:
    watcher, follower = watching
    before = _public(sim)
    publish(r, "v2", [("okx", "BTC-USDT", "last"), ("okx", "ETH-USDT", "funding")])
    assert follower.poll()
    assert watcher.series == {("BTC-USDT", "last")}
    assert _public(sim) == before
    assert "okx/main: keeping the public feed: okx: unknown price source 'funding'" in caplog.text
