"""Drive the baseline (bench/baseline.py) with the same load generator and rules."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
import websocket
from rq import Queue, Worker

from bench.baseline import DONE, QUEUE
from bench.loadgen import Load, serve
from bench.venues import VENUES, BenchVenue
from klaxon.redis_server import RedisServer

if TYPE_CHECKING:  # bench.run imports this module
    from bench.run import Options


def run_baseline(
    opts: Options, rules: Path, home: Path, env_of: Callable[[str, str], dict[str, str]]
) -> dict[str, Any]:
    """Measure one-rq-job-per-tick with rq's forking Worker: jobs completed per second."""
    with RedisServer(home / "redis-baseline") as server:
        client = redis.Redis.from_url(server.url)
        env = env_of(server.url, "ws://127.0.0.1:1/")
        with (home / "baseline-worker.log").open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bench.baseline", server.url, str(rules)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while Worker.count(connection=client) < 1:
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"baseline worker did not start; see {log.name}")
                time.sleep(0.1)
            return _measure(opts, client)
        finally:
            worker.terminate()
            worker.wait(10)
            client.close()


def _measure(opts: Options, client: redis.Redis) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    phases = ((opts.baseline_rate, opts.baseline_seconds),)
    load = Load(opts.markets, phases, opts.seed, venue=opts.venue)
    gen = ctx.Process(target=serve, args=(load, child), name="baseline-loadgen", daemon=True)
    gen.start()
    _, port = parent.recv()
    queue = Queue(QUEUE, connection=client)
    stop = threading.Event()
    enqueued = [0]
    producer = threading.Thread(
        target=_produce,
        args=(VENUES[opts.venue], port, queue, stop, enqueued),
        name="baseline-producer",
    )
    producer.start()
    parent.recv()  # ("phase", 0, t)
    t0, done0 = time.monotonic(), _done(client)
    parent.recv()  # ("sent", ...)
    parent.recv()  # ("done",)
    t1, done1 = time.monotonic(), _done(client)
    stop.set()
    parent.send("stop")
    producer.join(10)
    gen.join(10)
    jobs = done1 - done0
    return {
        "design": "one rq job per tick, rq's default forking Worker",
        "offered_per_s": opts.baseline_rate,
        "seconds": round(t1 - t0, 2),
        "enqueued": enqueued[0],
        "jobs_done": jobs,
        "evaluated_per_s": round(jobs / (t1 - t0), 1),
    }


def _done(client: redis.Redis) -> int:
    value = client.hget(DONE, "jobs")
    return int(value) if value else 0


def _produce(
    venue: BenchVenue, port: int, queue: Queue, stop: threading.Event, enqueued: list[int]
) -> None:
    parse = venue.parser()
    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/", skip_utf8_validation=True)
    if venue.subscribes:
        ws.send('{"op":"subscribe","args":[]}')
    ws.settimeout(0.5)
    try:
        while not stop.is_set():
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            for row in parse(raw).ticks:
                queue.enqueue("bench.baseline.evaluate_tick", venue.name, row, result_ttl=0)
                enqueued[0] += 1
    except (websocket.WebSocketException, OSError):
        pass
    finally:
        ws.close()
