"""`python -m bench --orders`: emulated orders under a ticker load, tick -> order request sent.

Processes, as in production: redis-server, the load generator (bench/loadgen.py: OKX tickers for
M markets at a paced rate over a real WebSocket), the OKX simulator (every bench market; its REST
takes the orders and its private feed sends their updates back), `klaxon watch`, W workers
(`--queues evaluate,orders`) and one notifier. N emulated orders (bench/ordergen.py: stops,
take-profits and trailing stops) are armed over the markets; F of them fire, each at a known
tick after the warm-up. Latency runs from the firing tick's exchange time (stamped by the load
generator when it sends the frame) to the simulator's creation time of the order (both ms,
one clock), and to when the worker had written the request whole (`_sent_ms` in the order's
record: where klaxon's part ends, before the simulator's own queue); every order on the
simulator is matched to its rule by its client id, so the run also counts orders placed,
missing, unexpected and placed twice. It also reports how the host's CPUs spent the measured
phase: busy, idle, and stolen by the hypervisor for other guests (this machine is a VM whose
speed varies from hour to hour: the share stolen tells a slow run's host from klaxon's code).
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis
from rq import Worker

from bench import report
from bench.loadgen import Load, market_name, serve
from bench.ordergen import Expected, write_orders
from bench.procs import HostTimes, host_shares, host_times
from bench.run import Options, Run, _quantiles, _wait
from klaxon.inbox import Inbox
from klaxon.redis_server import RedisServer
from simulator import SimConfig, Simulator
from watcher import keys
from workers.latency import DECISION, ENQUEUED, counts_from_stats
from workers.state import decode_hash

KEY, SECRET, PASSPHRASE = "bench-key", "bench-secret", "bench-pass"
SLOWEST = 8  # orders listed with their parts (a p99 of 493 orders is the 5th slowest)
EACH = "each_ms"  # the figures' key of every order's latencies (for pooled(); save() leaves it)


@dataclass(frozen=True)
class OrderOptions:
    """Everything an orders run depends on."""

    markets: int = 1000
    orders: int = 10_000
    firing: int = 500
    rate: int = 20_000
    warmup: float = 4.0
    seconds: float = 10.0
    workers: int = 2
    partitions: int = 2
    inline: bool = True
    # ms every REST answer of the simulator waits after the order was taken (a distant venue's
    # round trip: the latency measured ends when the request arrives, not when it is answered).
    answer_ms: int = 0
    seed: int = 1
    settle_timeout: float = 60.0

    def load(self) -> Load:
        """The load: one warm-up and one measured phase, paths that never repeat."""
        total = self.rate * (self.warmup + self.seconds)
        steps = math.ceil(total / self.markets) + 2
        phases = ((self.rate, self.warmup), (self.rate, self.seconds))
        return Load(self.markets, phases, self.seed, steps=steps)

    def firing_steps(self) -> range:
        """The path steps an order may fire at: after the warm-up, before the end (every
        market gets one tick per step, round-robin)."""
        first = math.ceil(self.rate * self.warmup / self.markets) + 1
        last = int(self.rate * (self.warmup + self.seconds)) // self.markets
        return range(first, last - 1)


def _serve_sim(config: SimConfig, conn: Connection) -> None:
    """Run the simulator in this process until the parent says stop."""
    with Simulator(config) as sim:
        conn.send((sim.base_url, sim.ws_private_url))
        conn.recv()


def execute(opts: OrderOptions) -> dict[str, Any]:
    """Run the load with the orders armed; return the figures."""
    load = opts.load()
    ctx = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="klaxon-orders-") as tmp, Inbox() as inbox:
        home = Path(tmp)
        rules, expected = write_orders(load, opts.orders, opts.firing, opts.firing_steps(), home)
        markets = {market_name(m): "100" for m in range(opts.markets)}
        config = SimConfig(
            api_key=KEY, secret_key=SECRET, passphrase=PASSPHRASE, markets=markets,
            walk=False, balance="1000000000", idle_timeout=600, answer_delay=opts.answer_ms / 1000,
        )  # fmt: skip
        sim_parent, sim_child = ctx.Pipe()
        sim_proc = ctx.Process(target=_serve_sim, args=(config, sim_child), daemon=True)
        sim_proc.start()
        base_url, private_url = sim_parent.recv()
        with RedisServer(home / "redis") as server:
            client = redis.Redis.from_url(server.url)
            try:
                result = _run(opts, load, rules, home, inbox, server.url, client, base_url,
                              private_url, expected)  # fmt: skip
            finally:
                client.close()
                sim_parent.send("stop")
                sim_proc.join(10)
    return result


def _run(
    opts: OrderOptions, load: Load, rules: Path, home: Path, inbox: Inbox, redis_url: str,
    client: redis.Redis, base_url: str, private_url: str, expected: list[Expected],
) -> dict[str, Any]:  # fmt: skip
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    gen = ctx.Process(target=serve, args=(load, child), name="loadgen", daemon=True)
    gen.start()
    _, port = parent.recv()
    run = Run(_bench_options(opts), rules, home, inbox)
    env = run.env(redis_url, f"ws://127.0.0.1:{port}/")
    env.update(
        KLAXON_OKX_API_KEY=KEY, KLAXON_OKX_SECRET_KEY=SECRET, KLAXON_OKX_PASSPHRASE=PASSPHRASE,
        KLAXON_OKX_REST_URL=base_url, KLAXON_OKX_WS_PRIVATE_URL=private_url,
        KLAXON_OKX_DEMO="true", KLAXON_ORDERS_INLINE="true" if opts.inline else "false",
    )  # fmt: skip
    started = time.monotonic()
    for n in range(opts.workers):
        name = f"eval-{n + 1}"
        run.spawn(f"worker-{n + 1}", ["work", "--name", name, "--queues", "evaluate,orders"], env)
    # The accounts' private stream (each order's transitions and updates) is evaluated beside
    # the notifications, at a lower CPU priority: the evaluators keep their workers and the CPU
    # for the ticker streams, where the triggers wait (README, KLAXON_NICE).
    run.spawn("notifier", ["work", "--name", "notify-1", "--queues", "accounts,notify"],
              env | {"KLAXON_NICE": "10"})  # fmt: skip
    _wait(lambda: Worker.count(connection=client) >= opts.workers + 1, 300, "workers to load")
    workers_ready_s = time.monotonic() - started
    run.spawn("watcher", ["watch"], env)
    tags = {keys.rule_tag(f"o{n:06d}"): f"o{n:06d}" for n in range(opts.orders)}
    measured: HostTimes | None = None  # the host's CPU times when the measured phase began
    try:
        while (message := parent.recv())[0] != "done":
            if message[:2] == ("phase", 1):
                measured = host_times()
        host = host_shares(measured, host_times()) if measured is not None else {}
        wanted = {e.rule for e in expected}
        settled = _wait(
            lambda: wanted <= set(_by_rule(_history(base_url), tags)), opts.settle_timeout, None
        )
        run.watch_usage()
        parent.send("stop")
    finally:
        run.stop()
        gen.join(10)
    figures = _figures(client, base_url, expected, tags)
    stats = client.hgetall(keys.STATS)
    figures["decision_ms"] = _quantiles(counts_from_stats(stats, DECISION))  # type: ignore[arg-type]
    figures["notified_enqueued_ms"] = _quantiles(counts_from_stats(stats, ENQUEUED))  # type: ignore[arg-type]
    figures.update(
        workers_ready_s=round(workers_ready_s, 1), settled=settled, host_cpu_pct=host,
        processes={name: {"peak_rss": u.peak_rss, "cpu_s": round(u.cpu_s, 1),
                          "runq_s": round(u.runq_s, 1)}
                   for name, u in sorted(run.peak.items())},
    )  # fmt: skip
    return figures


def _bench_options(opts: OrderOptions) -> Options:
    return Options(markets=opts.markets, rules=opts.orders, partitions=opts.partitions)


def _history(base_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base_url}/sim/state", timeout=30) as resp:  # noqa: S310
        state: dict[str, Any] = json.load(resp)
    return list(state["history"])


def _by_rule(
    history: list[dict[str, Any]], tags: dict[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Orders by the rule whose tag their client id carries (`tags`: tag -> rule name)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for order in history:
        rule = tags.get(order["clOrdId"][2:10], "?")
        found.setdefault(rule, []).append(order)
    return found


def _figures(
    client: redis.Redis, base_url: str, expected: list[Expected], tags: dict[str, str]
) -> dict[str, Any]:
    history = _history(base_url)
    by_rule = _by_rule(history, tags)
    wanted = {e.rule: e for e in expected}
    latencies, decided, sent, streamed, parts, left = [], [], [], [], [], []
    for rule, orders in by_rule.items():
        if rule not in wanted:
            continue
        cid = orders[0]["clOrdId"]
        record = decode_hash(client.hgetall(keys.emulated(cid)))
        if "_tick_ms" in record:
            tick, triggered = int(record["_tick_ms"]), int(record["_triggered_ms"])
            created = int(orders[0]["cTime"])
            latencies.append(created - tick)
            decided.append(triggered - tick)
            sent.append(created - triggered)
            stored = _entry_ms(record["_firing"])
            streamed.append(stored - tick)
            parts.append((created - tick, rule, stored - tick, triggered - stored, sent[-1]))
            if "_sent_ms" in record:  # when the worker had written the request whole
                left.append(int(record["_sent_ms"]) - tick)
    states = Counter(o["state"] for o in history)
    return {
        "orders_expected": len(wanted),
        "orders_placed": sum(1 for r in by_rule if r in wanted),
        "missing": sorted(set(wanted) - set(by_rule)),
        "unexpected": sorted(r for r in by_rule if r not in wanted),
        "duplicates": sum(len(o) - 1 for o in by_rule.values()),
        "order_states": dict(states),
        "tick_to_order_ms": {
            "p50": _q(latencies, 0.5), "p99": _q(latencies, 0.99),
            "max": max(latencies) if latencies else None, "count": len(latencies),
        },
        # Where klaxon's part ends: tick -> the request written whole to the venue's connection
        # (the worker's clock; the simulator's cTime above adds its own queue: one order at a
        # time, on the cores klaxon uses).
        "tick_to_sent_ms": {
            "p50": _q(left, 0.5), "p99": _q(left, 0.99),
            "max": max(left) if left else None, "count": len(left),
        },
        # The two parts: tick -> record TRIGGERED (evaluation), TRIGGERED -> at the simulator.
        "tick_to_triggered_ms": {"p50": _q(decided, 0.5), "p99": _q(decided, 0.99)},
        "triggered_to_order_ms": {"p50": _q(sent, 0.5), "p99": _q(sent, 0.99)},
        # Of the first: tick -> in the stream (the watcher: the entry id's ms, Redis's clock).
        "tick_to_stream_ms": {"p50": _q(streamed, 0.5), "p99": _q(streamed, 0.99)},
        # The slowest orders, each split: in the stream, evaluated to TRIGGERED, at the venue.
        "slowest": [
            {"rule": rule, "ms": total, "stream": s, "trigger": t, "send": o}
            for total, rule, s, t, o in sorted(parts, reverse=True)[:SLOWEST]
        ],
        # Every order's two latencies, for pooling runs (pooled()); not saved with the run.
        EACH: {"tick_to_order_ms": sorted(latencies), "tick_to_sent_ms": sorted(left)},
    }  # fmt: skip


def _q(values: list[int], p: float) -> int | None:
    """The p quantile of `values` as the bench reports it: the value at index p * n, sorted."""
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] if values else None


def pooled(runs: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The orders of several runs, (result file, figures with EACH), as one sample, beside each
    run's own p99: a run's p99 is its 5th slowest order of 493, and one slow second of the host
    moves it; the pooled p99 of five runs is their 25th slowest."""
    figures: dict[str, Any] = {}
    for name in ("tick_to_order_ms", "tick_to_sent_ms"):
        values = [v for _, run in runs for v in run[EACH][name]]
        figures[name] = {
            "p50": _q(values, 0.5), "p90": _q(values, 0.9), "p99": _q(values, 0.99),
            "max": max(values, default=None), "count": len(values),
        }  # fmt: skip
    for name in ("orders_placed", "orders_expected", "duplicates"):
        figures[name] = sum(run[name] for _, run in runs)
    figures["runs"] = [
        {"file": file, "p99": run["tick_to_order_ms"]["p99"],
         "sent_p99": run["tick_to_sent_ms"]["p99"], "steal_pct": run["host_cpu_pct"]["steal"]}
        for file, run in runs
    ]  # fmt: skip
    return figures


def pooled_table(figures: dict[str, Any]) -> str:
    """The pooled figures of several runs as a small table."""
    lat, left = figures["tick_to_order_ms"], figures["tick_to_sent_ms"]
    runs = figures["runs"]
    return "\n".join(
        [
            f"{len(runs)} runs pooled ({lat['count']} orders):",
            f"tick -> order request at the simulator: p50 {lat['p50']} ms, p90 {lat['p90']} ms,"
            f" p99 {lat['p99']} ms, max {lat['max']} ms",
            f"tick -> order request sent: p50 {left['p50']} ms, p90 {left['p90']} ms,"
            f" p99 {left['p99']} ms, max {left['max']} ms",
            f"orders placed {figures['orders_placed']} / expected {figures['orders_expected']};"
            f" duplicates {figures['duplicates']}",
            "each run's p99 at the simulator / sent (% of the CPUs stolen): "
            + ", ".join(f"{r['p99']} / {r['sent_p99']} ({r['steal_pct']})" for r in runs),
        ]
    )


def _entry_ms(firing: str) -> int:
    """Return the ms of the stream entry a firing id names (Redis's clock when it stored it)."""
    return int(keys.firing_entry(firing).partition("-")[0])


def table(opts: OrderOptions, figures: dict[str, Any]) -> str:
    """The run's figures as a small table."""
    lat, left = figures["tick_to_order_ms"], figures["tick_to_sent_ms"]
    lines = [
        f"orders: {opts.orders} armed over {opts.markets} markets, {opts.rate}/s ticks,"
        f" {'inline' if opts.inline else 'orders queue'}, {opts.workers} workers,"
        f" venue answers after {opts.answer_ms} ms",
        f"tick -> order request at the simulator: p50 {lat['p50']} ms, p99 {lat['p99']} ms,"
        f" max {lat['max']} ms ({lat['count']} orders)",
        f"tick -> order request sent (written whole by the worker): p50 {left['p50']} ms,"
        f" p99 {left['p99']} ms, max {left['max']} ms ({left['count']} orders)",
        f"orders placed {figures['orders_placed']} / expected {figures['orders_expected']};"
        f" duplicates {figures['duplicates']}; missing {len(figures['missing'])};"
        f" unexpected {len(figures['unexpected'])}",
        f"  of which tick -> TRIGGERED {figures['tick_to_triggered_ms']}, TRIGGERED -> at the"
        f" simulator {figures['triggered_to_order_ms']}; tick -> in the stream"
        f" {figures['tick_to_stream_ms']}",
        "  slowest (ms: in the stream + to TRIGGERED + to the simulator): "
        + ", ".join(
            f"{o['ms']} ({o['stream']} + {o['trigger']} + {o['send']})" for o in figures["slowest"]
        ),
        f"order states on the simulator: {figures['order_states']}",
        f"every tick -> decision (ms): {figures['decision_ms']}",
        "the host's CPUs over the measured phase (%): "
        + ", ".join(f"{state} {pct}" for state, pct in figures["host_cpu_pct"].items()),
        "CPU s / s waiting for a CPU: "
        + ", ".join(
            f"{name} {u['cpu_s']} / {u['runq_s']}" for name, u in figures["processes"].items()
        ),
    ]
    return "\n".join(lines)


def save(opts: OrderOptions, figures: dict[str, Any], pooled: bool = False) -> Path:
    """Write the run as JSON under bench/results/ (bench/report.py's, named `*-orders.json`;
    several runs' pooled figures `*-orders-pooled.json`), without every order's latencies."""
    kept = {name: value for name, value in figures.items() if name != EACH}
    return report.save(opts, kept, "orders-pooled" if pooled else "orders")
