"""`python -m bench --chaos`: the chaos soak. Nothing lost, nothing sent twice, while things die.

The real watcher, rq workers and redis-server (AOF, `appendfsync everysec`) run as in
production under a paced OKX ticker load (bench/chaos_feed.py) with firing price rules, while
orders placed over the simulator's REST make fills on its private feed; every `--kill-every`
seconds a random watcher, worker or redis-server gets SIGKILL and is started again; meanwhile
emulated stops are armed round by round (bench/chaos_stops.py), each firing at once and placing
one order on the simulator. At the end the run compares the fills the simulator made with the
fill alerts the local inbox received, counts duplicate deliveries, counts the stops' orders on
the simulator (placed == armed, none twice), and gives the longest heal time (kill -> caught up)
per kind.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr
from rq import Worker

from bench.chaos_feed import serve_forever
from bench.chaos_fleet import KINDS, Fleet
from bench.chaos_stops import Armer, orders_by_stop
from bench.loadgen import Load, market_name
from bench.rulegen import RuleSpec, write_rules
from bench.run import _evaluated, _int, _stats, _wait
from klaxon.demo import _state
from klaxon.inbox import Inbox
from klaxon.redis_server import free_port
from simulator import SimConfig, Simulator
from watcher import keys
from watcher.errors import ExchangeUnavailable
from watcher.venues import Trading
from watcher.venues.okx import Okx, OkxCredentials

KEY, SECRET, PASSPHRASE = "chaos-key-4e1b", "chaos-secret-9a7c", "chaos-pass-2d6f"
FILL_MARKET = "BTC-USDT"


@dataclass(frozen=True)
class ChaosOptions:
    """One soak: how long, how hard, how many fills and firing rules, how often a kill."""

    minutes: float = 10.0
    rate: int = 5000  # ticks/s offered by the feed
    fills: int = 1000  # market orders placed on the simulator over the run (one fill each)
    firing: int = 200  # price rules that fire (each once), over `markets` markets
    markets: int = 100
    kill_every: tuple[float, float] = (20.0, 40.0)  # seconds between kills, uniform
    min_kills_each: int = 0  # go on past `minutes` until every kind was killed this often
    workers: int = 2
    partitions: int = 2
    seed: int = 1
    stops: int = 100  # emulated stops armed over the run, each placing one order
    stop_rounds: int = 10  # armed in this many rounds (reloads), evenly over the run
    heal_timeout: float = 120.0  # a kill not healed by then is reported as such
    # After the last kill, for the last alerts to arrive: a notification a killed worker held
    # is re-queued when its job timeout (180 s) + 60 s is up, at the next maintenance.
    settle_timeout: float = 300.0


RULES = """\
# Written by bench/chaos.py.
channels:
  chaos:
    url: "json://127.0.0.1:${KLAXON_INBOX_PORT}/chaos"
    rate: 1000/s
    digest: 1000
tables:
  - file: levels.csv
    notify: [chaos]
    message: "price {rule} {market} {op} {level}"
    repeat: once
rules:
  - name: fills
    fill: {market: BTC-USDT}  # the placed market orders' (not the stops' orders)
    notify: [chaos]
    message: "fill {trade_id} order {order_id} {side} {size} {market}"
"""


def write_chaos_rules(opts: ChaosOptions, out: Path) -> tuple[Path, int]:
    """The soak's rules: `firing` table rules on the feed's markets and one fill rule."""
    load = Load(opts.markets, ((opts.rate, 1.0),), opts.seed)
    path, fires = write_rules(load, RuleSpec(opts.firing, 1.0), out)
    path.write_text(RULES)
    return path, fires


class Soak:
    """One soak's running parts and what it saw."""

    def __init__(
        self, opts: ChaosOptions, fleet: Fleet, sim: Simulator, inbox: Inbox, armer: Armer
    ) -> None:
        self.opts, self.fleet, self.sim, self.inbox, self.armer = opts, fleet, sim, inbox, armer
        self.kills: Counter[str] = Counter()
        self.heals: dict[str, list[float | None]] = defaultdict(list)
        self.placed: list[str] = []
        self.place_errors = 0
        self._stop = threading.Event()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.fleet.redis.url, socket_timeout=5)

    def private_ready(self) -> bool:
        """The simulator sees a private connection logged in and subscribed."""
        try:
            state: dict[str, Any] = _state(self.sim.base_url)
        except OSError:  # a busy machine: ask again
            return False
        return any(c["loggedIn"] and c["subscriptions"] for c in state["clients"]["private"])

    def healed(self, kind: str, slot: str, base: list[int]) -> bool:
        """Caught up after a kill: ticks flow in from a watcher and are evaluated, the backlog
        is under 2 s of ticks, the private feed is logged in and a new worker is registered."""
        client = self.client()
        try:
            stats = _stats(client)
            ticks, evaluated = _int(stats, keys.STAT_TICKS_IN.encode()), _evaluated(stats)
            if not base:
                base += [ticks, evaluated]
                return False
            if ticks <= base[0] or evaluated <= base[1]:
                return False
            if ticks - evaluated > 2 * self.opts.rate:
                return False
            if kind == "worker":
                names = {w.name for w in Worker.all(connection=client)}
                if self.fleet.names[slot] not in names:
                    return False
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            return False
        finally:
            client.close()
        return self.private_ready()

    def kill_and_heal(self, kind: str) -> None:
        """Kill one process of `kind`, restart it, wait for the system to catch up."""
        slot = random.choice(self.fleet.worker_slots()) if kind == "worker" else None
        started = time.monotonic()
        target = self.fleet.kill(kind, slot)
        self.kills[kind] += 1
        base: list[int] = []
        while time.monotonic() - started < self.opts.heal_timeout:
            self.fleet.supervise()
            if self.healed(kind, target, base):
                self.heals[kind].append(round(time.monotonic() - started, 2))
                return
            time.sleep(0.2)
        self.heals[kind].append(None)

    def place_fills(self, trading: Trading, seconds: float) -> None:
        """Place `fills` market orders evenly over `seconds`, alternately buying and selling."""
        gap = seconds / max(self.opts.fills, 1)
        start = time.monotonic()
        for n in range(self.opts.fills):
            wait = start + n * gap - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            side = "buy" if n % 2 == 0 else "sell"
            for _ in range(10):
                try:
                    self.placed.append(trading.place_order(FILL_MARKET, side, "market", "0.001"))
                    break
                except ExchangeUnavailable:
                    self.place_errors += 1

    def delivered(self) -> tuple[Counter[str], Counter[str]]:
        """Fill alerts by trade id and price alerts by rule, as the inbox received them."""
        fills: Counter[str] = Counter()
        prices: Counter[str] = Counter()
        for payload in list(self.inbox.received):
            words = str(payload.get("message", "")).split()
            if words[:1] == ["fill"]:
                fills[words[1]] += 1
            elif words[:1] == ["price"]:
                prices[words[1]] += 1
        return fills, prices

    def stops_filled(self) -> Counter[str]:
        """The stops' "filled" notifications by rule, as the inbox received them."""
        filled: Counter[str] = Counter()
        for payload in list(self.inbox.received):
            message = str(payload.get("message", ""))
            if message.startswith("[stop") and ", filled " in message:
                filled[message[1 : message.index("]")]] += 1
        return filled

    def stop_orders(self) -> Counter[str]:
        """The stops' orders on the simulator, by rule."""
        try:
            return orders_by_stop(_state(self.sim.base_url)["history"], self.opts.stops)
        except OSError:  # a busy machine: ask again
            return Counter()


def execute(opts: ChaosOptions, keep: Path | None = None) -> dict[str, Any]:
    """Run one soak (its logs and Redis data under `keep` if given); return its figures."""
    load = Load(opts.markets, ((opts.rate, 1.0),), opts.seed)
    markets = {FILL_MARKET: "60000"} | {market_name(m): "100" for m in range(opts.markets)}
    config = SimConfig(
        walk=False, api_key=KEY, secret_key=SECRET, passphrase=PASSPHRASE, markets=markets,
        idle_timeout=600,
    )  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="klaxon-chaos-") as tmp,
        Simulator(config) as sim,
        Inbox() as inbox,
    ):
        home = Path(tmp) if keep is None else keep
        home.mkdir(parents=True, exist_ok=True)
        rules, fires = write_chaos_rules(opts, home / "rules")
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        feed = ctx.Process(target=serve_forever, args=(load, opts.rate, child), daemon=True)
        feed.start()
        _, port = parent.recv()
        env = _env(opts, rules, inbox, sim, f"ws://127.0.0.1:{port}/")
        fleet = Fleet(home, env, opts.workers, free_port())
        env["KLAXON_REDIS_URL"] = fleet.redis.url
        armer = Armer(load, rules, RULES, env, opts.stops, opts.stop_rounds)
        try:
            result = _soak(Soak(opts, fleet, sim, inbox, armer), fires)
        finally:
            fleet.stop()
            parent.send("stop")
            sent = parent.recv()[1] if parent.poll(30) else None
            feed.join(10)
        result["ticks_sent"] = sent
        return result


def _env(opts: ChaosOptions, rules: Path, inbox: Inbox, sim: Simulator, ws: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env.update(
        KLAXON_RULES=json.dumps([str(rules)]),
        KLAXON_PARTITIONS=str(opts.partitions),
        KLAXON_LOG_LEVEL="WARNING",
        KLAXON_INBOX_PORT=str(inbox.port),
        KLAXON_OKX_WS_PUBLIC_URL=ws,
        KLAXON_OKX_WS_PRIVATE_URL=sim.ws_private_url,
        KLAXON_OKX_REST_URL=sim.base_url,
        KLAXON_OKX_API_KEY=KEY,
        KLAXON_OKX_SECRET_KEY=SECRET,
        KLAXON_OKX_PASSPHRASE=PASSPHRASE,
    )
    return env


def _soak(soak: Soak, fires: int) -> dict[str, Any]:
    opts, fleet = soak.opts, soak.fleet
    fleet.start_redis()
    fleet.start_workers()
    client = soak.client()
    _wait(lambda: Worker.count(connection=client) >= opts.workers, 300, "workers to start")
    fleet.start_watcher()
    _wait(soak.private_ready, 120, "the watcher to log in")
    client.close()
    began = datetime.now(UTC)
    creds = OkxCredentials(
        api_key=SecretStr(KEY), secret_key=SecretStr(SECRET), passphrase=SecretStr(PASSPHRASE)
    )
    sim = soak.sim
    venue = Okx("chaos", creds, public_url="ws://127.0.0.1:1/", private_url=sim.ws_private_url,
                rest_url=sim.base_url, demo=True)  # fmt: skip
    trading = venue.trading(10.0)
    seconds = opts.minutes * 60
    placer = threading.Thread(target=soak.place_fills, args=(trading, seconds * 0.95))
    placer.start()
    armer = threading.Thread(target=soak.armer.run, args=(seconds * 0.9,))
    armer.start()
    rnd = random.Random(opts.seed)
    kinds: list[str] = []
    end = time.monotonic() + seconds
    while True:
        pause = rnd.uniform(*opts.kill_every)
        short = any(soak.kills[kind] < opts.min_kills_each for kind in KINDS)
        if time.monotonic() + pause > end and not short:
            break
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline:
            fleet.supervise()
            time.sleep(0.2)
        if not kinds:  # every kind in turn, in a shuffled order each round
            kinds = list(KINDS)
            rnd.shuffle(kinds)
        soak.kill_and_heal(kinds.pop())
    while time.monotonic() < end:
        fleet.supervise()
        time.sleep(0.2)
    placer.join()
    armer.join()
    made = {f.trade_id for f in trading.fills_since(began, FILL_MARKET)}
    settle_started = time.monotonic()

    def settled() -> bool:
        fleet.supervise()
        fills, prices = soak.delivered()
        stops = soak.armer.armed
        return (
            made <= set(fills)
            and len(prices) >= fires
            and len(soak.stop_orders()) >= stops
            and len(soak.stops_filled()) >= stops
        )

    _wait(settled, opts.settle_timeout, None)
    _quiet(soak.inbox, 5.0)
    fills, prices = soak.delivered()
    return _figures(soak, fires, made, fills, prices, time.monotonic() - settle_started)


def _figures(
    soak: Soak, fires: int, made: set[str], fills: Counter[str], prices: Counter[str], settle: float
) -> dict[str, Any]:
    client = soak.client()
    stats = _stats(client)
    fsync = client.config_get("appendfsync").get("appendfsync")
    client.close()
    return {
        "kills": dict(soak.kills),
        "unplanned_exits": dict(soak.fleet.exits),
        "heal_s": {k: v for k, v in soak.heals.items()},
        "heal_max_s": {kind: _longest(v) for kind, v in soak.heals.items() if v},
        "orders_placed": len(soak.placed),
        "place_retries": soak.place_errors,
        "fills_made": len(made),
        "fill_alerts_delivered": sum(fills.values()),
        "fills_lost": len(made - set(fills)),
        "fill_alerts_unknown": len(set(fills) - made),
        "fill_duplicates": sum(n - 1 for n in fills.values() if n > 1),
        "firing_expected": fires,
        "firing_delivered": len(prices),
        "firing_duplicates": sum(n - 1 for n in prices.values() if n > 1),
        **_stop_figures(soak),
        "settle_s": round(settle, 1),
        "ticks_into_redis": _int(stats, keys.STAT_TICKS_IN.encode()),
        "evaluated": _evaluated(stats),
        "appendfsync": fsync,
    }


def _stop_figures(soak: Soak) -> dict[str, Any]:
    placed, filled = soak.stop_orders(), soak.stops_filled()
    return {
        "stops_armed": soak.armer.armed,
        "stop_reloads_retried": soak.armer.reload_failures,
        "stop_orders_expected": soak.armer.armed,
        "stop_orders_placed": len(placed),
        "duplicate_orders": sum(n - 1 for n in placed.values() if n > 1),
        "stop_fills_notified": len(filled),
        "stop_fill_duplicates": sum(n - 1 for n in filled.values() if n > 1),
    }


def _longest(heals: list[float | None]) -> float | None:
    """The longest heal; None if one did not heal."""
    done = [h for h in heals if h is not None]
    return max(done) if len(done) == len(heals) else None


def _quiet(inbox: Inbox, seconds: float) -> None:
    """Wait until the inbox has received nothing new for `seconds` (late duplicates show)."""
    seen, since = len(inbox.received), time.monotonic()
    while time.monotonic() - since < seconds:
        time.sleep(0.2)
        if len(inbox.received) != seen:
            seen, since = len(inbox.received), time.monotonic()
