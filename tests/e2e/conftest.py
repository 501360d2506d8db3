"""The whole spine on loopback: the simulator, the real watcher, real Redis, rq workers, apprise."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from pydantic import SecretStr

from klaxon.inbox import Inbox
from rules.load import RuleSet, load_rules
from simulator import SimConfig, Simulator
from tests.waiting import wait_until
from watcher import keys
from watcher.audit import audit_key
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.venues import Trading
from watcher.venues.okx import Okx, OkxCredentials
from workers import order_desk
from workers.order_desk import Desk
from workers.service import load as load_worker_rules
from workers.service import make_worker

PARTITIONS = 4
API_KEY, SECRET, PASSPHRASE = "e2e-key-7f3a9c", "e2e-secret-5b8d2e", "e2e-pass-1c4f6a"
T = TypeVar("T")

RULES = """\
channels:
  inbox: "json://127.0.0.1:${INBOX_PORT}/alerts/tok-9d2e71b4"
rules:
  - name: btc-up
    price: {market: BTC-USDT, crosses_up: "60100"}
    notify: [inbox]
    message: "{market} crossed {level} at {price}"
  - name: fills
    fill: {market: BTC-USDT}
    notify: [inbox]
    message: "fill {side} {size} {market} @ {price}"
"""


@dataclass
class Stack:
    """Handles on every running part of one end-to-end test."""

    sim: Simulator
    inbox: Inbox
    redis_url: str
    redis: redis.Redis
    ruleset: RuleSet
    watcher: Watcher
    rest: Trading
    venue: Okx

    def sim_state(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.sim.base_url}/sim/state", timeout=2) as resp:
            state: dict[str, Any] = json.load(resp)
            return state

    def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.sim.base_url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=2) as resp:
            answer: dict[str, Any] = json.load(resp)
            return answer

    def subscribed(self) -> bool:
        state = self.sim_state()
        public = state["clients"]["public"]
        private = state["clients"]["private"]
        return bool(
            public
            and public[0]["subscriptions"]
            and private
            and private[0]["loggedIn"]
            and private[0]["subscriptions"]
        )

    def work_until(self, predicate: Callable[[], T], timeout: float, what: str) -> T:
        """Run burst workers (as `klaxon work --burst` does) until `predicate` holds."""
        worker_redis = redis.Redis.from_url(self.redis_url)

        def step() -> T:
            make_worker(worker_redis).work(burst=True, with_scheduler=True)
            return predicate()

        try:
            return wait_until(step, timeout, what)
        finally:
            worker_redis.close()


@pytest.fixture
def stack(redis_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """Every part running; the rules are the test module's RULES if it has its own, the
    simulator's markets its MARKETS (market -> start price) if it has them."""
    rules: str = getattr(request.module, "RULES", RULES)
    perm: str = getattr(request.module, "SIM_PERM", "read_only,trade")
    markets: dict[str, str] | None = getattr(request.module, "MARKETS", None)
    config = SimConfig(
        walk=False,
        api_key=API_KEY,
        secret_key=SECRET,
        passphrase=PASSPHRASE,
        perm=perm,
        markets=markets,
    )
    creds = OkxCredentials(
        api_key=SecretStr(API_KEY), secret_key=SecretStr(SECRET), passphrase=SecretStr(PASSPHRASE)
    )
    with Simulator(config) as sim, Inbox() as inbox:
        path = tmp_path / "rules.yaml"
        path.write_text(rules)
        ruleset = load_rules([path], env={"INBOX_PORT": str(inbox.port)})
        load_worker_rules(ruleset)
        client = redis.Redis.from_url(redis_url)
        venue = Okx(
            "main",
            creds,
            public_url=sim.ws_public_url,
            private_url=sim.ws_private_url,
            rest_url=sim.base_url,
            demo=True,
        )
        series = {(m, s) for _, m, s in ruleset.markets()}
        watcher = Watcher(
            venue,
            Publisher(client, "okx", "main", PARTITIONS),
            series,
            private=True,
            kick_interval=1.0,
        )
        thread = threading.Thread(target=watcher.run, name="e2e-watcher")
        thread.start()
        stack = Stack(sim, inbox, redis_url, client, ruleset, watcher, venue.trading(), venue)
        try:
            wait_until(stack.subscribed, 15, "the watcher to log in and subscribe")
            yield stack
        finally:
            watcher.stop()
            thread.join(timeout=15)
            client.close()


@pytest.fixture
def desk(stack: Stack) -> Iterator[Desk]:
    """The stack's account places emulated orders from this process (its API key audited first,
    as the watcher does at start)."""
    audit_key(stack.venue, "okx/main", stack.redis)
    installed = Desk({("okx", "main"): stack.rest}, partitions=PARTITIONS)
    order_desk.install(installed)
    yield installed
    order_desk.uninstall()


def sim_orders(stack: Stack) -> list[dict[str, Any]]:
    """Every order the simulator ever accepted, oldest first."""
    history: list[dict[str, Any]] = stack.sim_state()["history"]
    return history


def messages(stack: Stack) -> list[str]:
    """The messages the inbox received, in order."""
    return [p["message"] for p in stack.inbox.received]


def evaluated_at(stack: Stack, market: str, price: str) -> bool:
    """Return whether the workers have evaluated `market` at `price` (its last price saved)."""
    stream = keys.ticks_stream(keys.partition("okx", market, PARTITIONS))
    last = stack.redis.hget(keys.last_prices(stream), keys.last_price_field("okx", market, "last"))
    return last == price.encode()


def walk(stack: Stack, market: str, *prices: str) -> None:
    """Set each price on the simulator in turn, each evaluated by burst workers before the next."""
    for price in prices:
        stack.control("/sim/price", {"instId": market, "price": price})
        stack.work_until(partial(evaluated_at, stack, market, price), 10, f"{market} at {price}")
