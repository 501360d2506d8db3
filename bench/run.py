"""One benchmark run: the real watcher, Redis and rq workers under a paced ticker load of one
venue (OKX by default; bench/venues.py).

Processes: redis-server, the load generator (bench/loadgen.py), `klaxon watch` and W
`klaxon work`, each its own process as in production. The harness samples Redis and /proc once
a second; it does no work on the hot path.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from rq import Worker

from bench.loadgen import Load, serve
from bench.procs import HostTimes, Usage, host_shares, host_times, stop_all, usage
from bench.rulegen import RuleSpec, add_rules, write_rules
from bench.venues import VENUES
from klaxon.inbox import Inbox
from klaxon.redis_server import RedisServer
from watcher import keys
from workers.digest import alerts_in
from workers.latency import DECISION, ENQUEUED, counts_from_stats

ROOT = Path(__file__).resolve().parent.parent
TICKS_IN = keys.STAT_TICKS_IN.encode()


@dataclass(frozen=True)
class Options:
    """Everything a run depends on; two runs with the same options do the same work."""

    markets: int = 1000
    rules: int = 1_000_000
    moves: int = 0  # move rules beside the price rules (none fires)
    margins: int = 0  # margin rules (they read private events: none in this load)
    # The first phase is the warm-up: every firing rule fires on the first pass over the
    # price paths (64 ticks per market), so its latency includes that burst of claims.
    phases: tuple[tuple[int, float], ...] = ((20_000, 4.0), (20_000, 8.0), (50_000, 8.0))
    workers: int = 2  # evaluate-only workers
    notifiers: int = 1  # notify-only workers: deliveries never hold up an evaluation
    partitions: int = 2  # one per worker: a partition is drained by one worker at a time
    fire_fraction: float = 0.0001  # 100 of 1M rules fire (each once)
    seed: int = 1
    venue: str = "okx"  # whose ticker frames the generator sends (bench.venues.VENUES)
    baseline_seconds: float = 8.0
    baseline_rate: int = 1000
    drain_timeout: float = 30.0


@dataclass
class Sample:
    """One second of the run, as the harness saw it."""

    t: float
    phase: int
    ticks_in: int
    evaluated: int
    backlog: int
    queued_jobs: int


@dataclass
class Phase:
    """Figures of one load phase."""

    rate: int
    seconds: float
    sent: int = 0
    sent_seconds: float = 0.0
    into_redis_per_s: float = 0.0
    evaluated_per_s: float = 0.0
    backlog_max: int = 0
    backlog_end: int = 0
    backlog_slope_per_s: float = 0.0
    decision_ms: dict[str, int | None] = field(default_factory=dict)
    enqueued_ms: dict[str, int | None] = field(default_factory=dict)
    watcher_cpu_s: float = 0.0  # the watcher process's CPU seconds during the phase
    ticks_per_watcher_cpu_s: float = 0.0  # ticks into Redis per second of watcher CPU
    # How the host's CPUs spent the phase, in %: busy, idle, stolen by the hypervisor.
    host_cpu_pct: dict[str, float] = field(default_factory=dict)


def rules_for(opts: Options, cache: Path) -> tuple[Path, int]:
    """Generate (or reuse) the run's rule files; return the YAML path and how many fire."""
    load = Load(opts.markets, opts.phases, opts.seed, venue=opts.venue)
    mix = f"-mv{opts.moves}-mg{opts.margins}" if opts.moves or opts.margins else ""
    where = cache / (
        f"{opts.venue}-m{opts.markets}-n{opts.rules}-f{opts.fire_fraction}-s{opts.seed}{mix}"
    )
    marker = where / "fires"
    if marker.exists():
        return where / "rules.yaml", int(marker.read_text())
    yaml, fires = write_rules(load, RuleSpec(opts.rules, opts.fire_fraction), where)
    add_rules(yaml, load, opts.moves, opts.margins)
    marker.write_text(str(fires))
    return yaml, fires


def measure_load(rules: Path, env: dict[str, str]) -> dict[str, Any]:
    """Load the rules as a worker does, in a fresh process: seconds and bytes per rule."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.measure_load", str(rules)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


class Run:
    """The processes of one run and what was measured of them."""

    def __init__(self, opts: Options, rules: Path, home: Path, inbox: Inbox) -> None:
        self.opts = opts
        self.rules = rules
        self.home = home
        self.inbox = inbox
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.peak: dict[str, Usage] = {}
        self.samples: list[Sample] = []
        self.phases = [Phase(rate, seconds) for rate, seconds in opts.phases]

    def env(self, redis_url: str, ws_url: str) -> dict[str, str]:
        """The environment of the klaxon processes of this run."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
        env.update(
            KLAXON_REDIS_URL=redis_url,
            KLAXON_RULES=json.dumps([str(self.rules)]),
            KLAXON_PARTITIONS=str(self.opts.partitions),
            KLAXON_LOG_LEVEL="WARNING",
            KLAXON_INBOX_PORT=str(self.inbox.port),
        )
        env.update(VENUES[self.opts.venue].env(ws_url))
        return env

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> None:
        """Start one klaxon process, its output in the run's directory."""
        with (self.home / f"{name}.log").open("wb") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "klaxon", *args],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )  # fmt: skip

    def watch_usage(self) -> None:
        """Remember each process's latest reading (its peak RSS survives in VmHWM)."""
        for name, proc in self.procs.items():
            found = usage(proc.pid)
            if found is not None:
                self.peak[name] = found

    def stop(self) -> None:
        """SIGTERM every process, then wait (kill after 10 s)."""
        stop_all(self.procs.values(), 10)


def execute(opts: Options, cache: Path) -> dict[str, Any]:
    """Run the benchmark phases, then the baseline; return every figure."""
    rules, fires = rules_for(opts, cache)
    with tempfile.TemporaryDirectory(prefix="klaxon-bench-") as tmp, Inbox() as inbox:
        home = Path(tmp)
        with RedisServer(home / "redis") as server:
            run = Run(opts, rules, home, inbox)
            env = run.env(server.url, "ws://127.0.0.1:1/")
            load_figures = measure_load(rules, env)
            client = redis.Redis.from_url(server.url)
            result = _main_phases(run, client, server.url)
            result["load"] = load_figures
            result["fires_expected"] = fires
            result["fired"] = _fired(client)
            info = client.info("memory")
            result["redis_memory"] = {
                "used": info["used_memory"], "peak": info["used_memory_peak"],
            }  # fmt: skip
            client.close()
        from bench.baseline_run import run_baseline

        result["baseline"] = run_baseline(opts, rules, home, run.env)
    return result


def _main_phases(run: Run, client: redis.Redis, redis_url: str) -> dict[str, Any]:
    opts = run.opts
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    load = Load(opts.markets, opts.phases, opts.seed, venue=opts.venue)
    gen = ctx.Process(target=serve, args=(load, child), name="loadgen", daemon=True)
    gen.start()
    _, port = parent.recv()
    env = run.env(redis_url, f"ws://127.0.0.1:{port}/")
    started = time.monotonic()
    for n in range(opts.workers):
        run.spawn(f"worker-{n + 1}", ["work", "--name", f"eval-{n + 1}", "--queues", "evaluate"],
                  env)  # fmt: skip
    for n in range(opts.notifiers):  # with the system stream's evaluations (lag alerts)
        name, queues = f"notify-{n + 1}", "accounts,notify"
        run.spawn(f"notifier-{n + 1}", ["work", "--name", name, "--queues", queues],
                  env | {"KLAXON_NICE": "10"})  # fmt: skip
    everyone = opts.workers + opts.notifiers
    _wait(lambda: Worker.count(connection=client) >= everyone, 120, "workers to load rules")
    workers_ready_s = time.monotonic() - started
    run.spawn("watcher", ["watch"], env)
    try:
        _sample_phases(run, client, parent)
        drain_started = time.monotonic()
        _wait(lambda: _backlog(client) <= 0, opts.drain_timeout, None)
        drain_s = time.monotonic() - drain_started
        run.samples.append(_sample(client, len(run.phases) - 1))
        run.watch_usage()
        parent.send("stop")
        # Notifications are delivered by the same workers, between evaluations.
        fired = _fired(client)
        _wait(lambda: _alerts(run.inbox.received) >= fired, opts.drain_timeout, None)
        notified_s = time.monotonic() - drain_started
    finally:
        run.stop()
        gen.join(10)
    return {
        "workers_ready_s": round(workers_ready_s, 2),
        "drain_after_load_s": round(drain_s, 2),
        "notified": _alerts(run.inbox.received),  # alerts, a digest's each counted
        "all_notified_after_load_s": round(notified_s, 2),
        "phases": [vars(p) for p in run.phases],
        "samples": [vars(s) for s in run.samples],
        "processes": {
            name: {"peak_rss": u.peak_rss, "rss": u.rss, "cpu_s": round(u.cpu_s, 2)}
            for name, u in sorted(run.peak.items())
        },
    }


def _sample_phases(run: Run, client: redis.Redis, pipe: Any) -> None:
    phase = -1
    marks: list[tuple[float, dict[bytes, bytes]]] = []
    cpu: list[float] = []  # the watcher's CPU seconds at each mark
    host: list[HostTimes] = []  # the host's CPU times at each mark
    next_sample = time.monotonic()
    while True:
        while pipe.poll(0):
            message = pipe.recv()
            if message[0] == "phase":
                phase = message[1]
                marks.append((time.monotonic(), _stats(client)))
                cpu.append(_watcher_cpu(run))
                host.append(host_times())
            elif message[0] == "sent":
                p = run.phases[message[1]]
                p.sent, p.sent_seconds = message[2], round(message[3], 3)
            elif message[0] == "done":
                marks.append((time.monotonic(), _stats(client)))
                cpu.append(_watcher_cpu(run))
                host.append(host_times())
                _phase_figures(run, marks, cpu, host)
                return
        now = time.monotonic()
        if now >= next_sample and phase >= 0:
            run.samples.append(_sample(client, phase))
            run.watch_usage()
            next_sample = now + 1.0
        time.sleep(0.01)


def _watcher_cpu(run: Run) -> float:
    found = usage(run.procs["watcher"].pid)
    return found.cpu_s if found is not None else 0.0


def _phase_figures(
    run: Run,
    marks: list[tuple[float, dict[bytes, bytes]]],
    cpu: list[float],
    host: list[HostTimes],
) -> None:
    for i, p in enumerate(run.phases):
        (t0, s0), (t1, s1) = marks[i], marks[i + 1]
        p.host_cpu_pct = host_shares(host[i], host[i + 1])
        span = t1 - t0
        ticks = _int(s1, TICKS_IN) - _int(s0, TICKS_IN)
        p.into_redis_per_s = round(ticks / span)
        p.watcher_cpu_s = round(cpu[i + 1] - cpu[i], 2)
        p.ticks_per_watcher_cpu_s = round(ticks / p.watcher_cpu_s) if p.watcher_cpu_s else 0.0
        d0, d1 = counts_from_stats(s0, DECISION), counts_from_stats(s1, DECISION)
        e0, e1 = counts_from_stats(s0, ENQUEUED), counts_from_stats(s1, ENQUEUED)
        decided = [b - a for a, b in zip(d0, d1, strict=True)]
        enqueued = [b - a for a, b in zip(e0, e1, strict=True)]
        p.evaluated_per_s = round(sum(decided) / span)
        p.decision_ms = _quantiles(decided)
        p.enqueued_ms = _quantiles(enqueued)
        inside = [s for s in run.samples if s.phase == i]
        if inside:
            p.backlog_max = max(s.backlog for s in inside)
            p.backlog_end = inside[-1].backlog
            half = inside[len(inside) // 2 :]
            if len(half) >= 2 and half[-1].t > half[0].t:
                p.backlog_slope_per_s = round(
                    (half[-1].backlog - half[0].backlog) / (half[-1].t - half[0].t)
                )


def _quantiles(counts: list[int]) -> dict[str, int | None]:
    from workers.latency import BOUNDS_MS, quantile_of

    top = max((i for i, c in enumerate(counts) if c), default=None)
    top_ms = None if top is None or top >= len(BOUNDS_MS) else BOUNDS_MS[top]
    return {
        "count": sum(counts),
        "p50": quantile_of(counts, 0.5),
        "p99": quantile_of(counts, 0.99),
        "max": top_ms,
    }


def _alerts(received: list[dict[str, Any]]) -> int:
    """Return the alerts the inbox received: a burst arrives as digests (workers/digest.py)."""
    return sum(alerts_in(p.get("title") or "", p.get("message") or "") for p in received)


def _fired(client: redis.Redis) -> int:
    return sum(1 for _ in client.scan_iter(keys.claim("*"), count=10_000))


def _stats(client: redis.Redis) -> dict[bytes, bytes]:
    stats: dict[bytes, bytes] = client.hgetall(keys.STATS)  # type: ignore[assignment]
    return stats


def _int(stats: dict[bytes, bytes], name: bytes) -> int:
    return int(stats.get(name, b"0"))


def _evaluated(stats: dict[bytes, bytes]) -> int:
    return sum(counts_from_stats(stats, DECISION))


def _backlog(client: redis.Redis) -> int:
    stats = _stats(client)
    return _int(stats, TICKS_IN) - _evaluated(stats)


def _sample(client: redis.Redis, phase: int) -> Sample:
    stats = _stats(client)
    ticks_in, evaluated = _int(stats, TICKS_IN), _evaluated(stats)
    return Sample(
        t=round(time.monotonic(), 3),
        phase=phase,
        ticks_in=ticks_in,
        evaluated=evaluated,
        backlog=ticks_in - evaluated,
        queued_jobs=int(client.llen(keys.rq_queue(keys.EVALUATE_QUEUE))),
    )


def _wait(predicate: Any, timeout: float, what: str | None) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            if what is None:
                return False
            raise TimeoutError(f"bench: timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return True
