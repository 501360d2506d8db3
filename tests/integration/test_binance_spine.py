"""Binance end to end: the simulator -> the watcher as `klaxon watch` wires it from
KLAXON_ACCOUNTS -> Redis -> real rq burst workers -> apprise -> a local inbox. A price crossing
and a fill notify, on spot and on USD-M; fills made on either side of a listen key's expiry and
of a connection's age limit (compressed) each arrive once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
import redis
from rq import Queue

from klaxon.inbox import Inbox
from simulator import Simulator
from tests.integration.binance_sim import KEY, SECRET, config, control, rest
from tests.integration.wired import build
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, decode_event
from watcher.venues.binance import BinanceRest
from workers import context
from workers.service import load as load_worker_rules
from workers.service import make_worker

pytestmark = pytest.mark.timeout(90)
T = TypeVar("T")
RULES = """\
channels:
  desk: "json://127.0.0.1:{port}/alerts"
rules:
  - name: btc-up
    price: {{venue: {venue}, market: BTCUSDT, source: {source}, crosses_up: "60100"}}
    notify: [desk]
    message: "{{venue}} {{market}} {{source}} crossed {{level}} at {{price}}"
  - name: fills
    fill: {{venue: {venue}}}
    notify: [desk]
    message: "fill {{side}} {{size}} {{market}} @ {{price}} trade {{trade_id}}"
"""


@dataclass
class Spine:
    """The running parts of one test."""

    sim: Simulator
    venue: str
    inbox: Inbox
    redis_url: str
    redis: redis.Redis
    rest: BinanceRest

    def messages(self, prefix: str) -> list[str]:
        return [p["message"] for p in self.inbox.received if p["message"].startswith(prefix)]

    def work_until(self, predicate: Callable[[], T], what: str, timeout: float = 30) -> T:
        """Runs burst workers (as `klaxon work --burst`) until `predicate` holds."""

        def step() -> T:
            make_worker(self.redis).work(burst=True, with_scheduler=True)
            return predicate()

        return wait_until(step, timeout, what)

    def idle(self) -> bool:
        """Whether no evaluation or notification waits in its queue."""
        queues = (keys.EVALUATE_QUEUE, keys.NOTIFY_QUEUE)
        return all(Queue(q, connection=self.redis).count == 0 for q in queues)

    def user_clients(self) -> list[dict[str, Any]]:
        """The simulator's user data connections that still get events."""
        state = control(self.sim, self.venue, "state")
        return [c for c in state["clients"]["private"] if c["loggedIn"]]

    def fills(self) -> list[Fill]:
        """Every fill the watcher wrote to the account's private stream, oldest first."""
        stream = keys.private_stream(self.venue, "main")
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], self.redis.xrange(stream))
        events = [decode_event(fields[b"d"]) for _, fields in entries if fields[b"k"] == b"fill"]
        return [e for e in events if isinstance(e, Fill)]

    def buy(self, size: str) -> str:
        """Buys at market over the simulator's REST; returns the order id."""
        return self.rest.place_order("BTCUSDT", "buy", "market", size)


def _env(sim: Simulator, venue: str, redis_url: str) -> dict[str, str]:
    endpoint = sim.endpoint(venue)
    prefix = f"KLAXON_{venue.upper()}_"
    return {
        "KLAXON_REDIS_URL": redis_url,
        "KLAXON_ACCOUNTS": json.dumps([{"venue": venue, "account": "main"}]),
        f"{prefix}API_KEY": KEY,
        f"{prefix}SECRET_KEY": SECRET,
        f"{prefix}STREAM_URL": f"ws://{endpoint.host}:{endpoint.port}",
        f"{prefix}REST_URL": endpoint.base_url,
    }


@pytest.fixture
def spine_of(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., Spine]]:
    """Starts the spine for a venue and a price source (with SimConfig overrides)."""
    stops: list[Callable[[], None]] = []

    def start(venue: str, source: str = "last", **sim: Any) -> Spine:
        simulator = Simulator(config(venue, **sim)).start()
        stops.append(simulator.stop)
        inbox = Inbox().start()
        stops.append(inbox.stop)
        path = tmp_path / "rules.yaml"
        path.write_text(RULES.format(venue=venue, source=source, port=inbox.port))
        _, watchers = build(monkeypatch, _env(simulator, venue, redis_url), path)
        load_worker_rules([path], venues=(venue,))
        stops.append(context.uninstall)
        threads = [threading.Thread(target=w.run, name="binance-watcher") for w in watchers]
        for thread in threads:
            thread.start()

        def stop_watchers() -> None:
            for watcher in watchers:
                watcher.stop()
            for thread in threads:
                thread.join(15)

        stops.append(stop_watchers)
        client = redis.Redis.from_url(redis_url)
        stops.append(client.close)
        spine = Spine(simulator, venue, inbox, redis_url, client, rest(simulator, venue))

        def ready() -> bool:
            public = control(simulator, venue, "state")["clients"]["public"]
            return bool(public and public[0]["subscriptions"] and spine.user_clients())

        wait_until(ready, 20, "the watcher's market and user data connections")
        return spine

    yield start
    for stop in reversed(stops):
        stop()


@pytest.mark.parametrize(("venue", "source"), [("binance", "last"), ("binanceusdm", "mark")])
def test_a_price_crossing_and_a_fill_notify(
    spine_of: Callable[..., Spine], venue: str, source: str
) -> None:
    spine = spine_of(venue, source)
    control(spine.sim, venue, "path", {"market": "BTCUSDT", "prices": ["60050", "60150"],
                                       "interval": 0.05})  # fmt: skip
    crossed = spine.work_until(lambda: spine.messages(venue), "the crossing alert")
    assert crossed == [f"{venue} BTCUSDT {source} crossed 60100 at 60150"]
    order_id = spine.buy("0.25")
    # USD-M reports each fill twice (TRADE_LITE, then ORDER_TRADE_UPDATE): it is written once,
    # and notified once.
    (fill,) = wait_until(spine.fills, 10, "the fill in Redis")
    order, trade = fill.order_id, fill.trade_id
    assert order == order_id
    alerts = spine.work_until(lambda: spine.messages("fill"), "the fill alert")
    spine.work_until(spine.idle, "the queues to drain")
    assert alerts == spine.messages("fill") == [f"fill buy 0.25 BTCUSDT @ 60150 trade {trade}"]


def _rotated(spine: Spine, before: set[str]) -> Callable[[], bool]:
    """Whether the user data now comes on a connection other than `before`'s."""

    def rotated() -> bool:
        now = _conn_ids(spine)
        return bool(now) and not now & before

    return rotated


def _conn_ids(spine: Spine) -> set[str]:
    return {c["connId"] for c in spine.user_clients()}


def _once_each(spine: Spine, orders: list[str]) -> None:
    """Every order's fill was written once and notified once."""
    spine.work_until(lambda: len(spine.messages("fill")) >= len(orders), "every fill alert")
    fills = spine.fills()
    trades = {f.trade_id: f.order_id for f in fills}
    assert len(trades) == len(fills)  # each written once
    assert sorted(trades.values()) == sorted(orders)
    alerts = spine.messages("fill")
    assert sorted(a.rsplit(" ", 1)[1] for a in alerts) == sorted(trades)


def test_fills_across_a_listen_key_expiry_arrive_once(spine_of: Callable[..., Spine]) -> None:
    spine = spine_of("binance")
    orders = [spine.buy("0.01")]
    wait_until(lambda: spine.fills(), 10, "the first fill in Redis")
    first = _conn_ids(spine)
    assert control(spine.sim, "binance", "listen-key/expire", {})["notified"] == 1
    wait_until(_rotated(spine, first), 15, "user data on a new listen key")
    orders.append(spine.buy("0.02"))
    wait_until(lambda: len({f.trade_id for f in spine.fills()}) == 2, 10, "the second fill")
    _once_each(spine, orders)


def test_fills_across_the_connection_age_limit_arrive_once(
    spine_of: Callable[..., Spine],
) -> None:
    spine = spine_of("binanceusdm", max_connection_age=2.0)
    orders = [spine.buy("0.01")]
    wait_until(lambda: spine.fills(), 10, "the first fill in Redis")
    first = _conn_ids(spine)
    wait_until(_rotated(spine, first), 15, "user data on a connection made after the limit")
    orders.append(spine.buy("0.02"))
    wait_until(lambda: len({f.trade_id for f in spine.fills()}) == 2, 10, "the second fill")
    _once_each(spine, orders)
