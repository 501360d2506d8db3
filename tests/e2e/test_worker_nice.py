"""KLAXON_NICE lowers a worker's CPU priority, so that a worker of latency-tolerant queues
(accounts, notify) yields the CPU to the evaluators of market data; a value outside 0-19 is
refused at start, naming the setting. A worker's GIL switch interval is 1 ms, so that its
sender threads take up a venue's answer while a job evaluates (workers/order_place.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import redis
from rq import Queue, Worker

from tests.waiting import wait_until
from watcher import keys
from workers.order_send import SWITCH_SECONDS


def _env(redis_url: str, nice: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    return env | {"KLAXON_REDIS_URL": redis_url, "KLAXON_INBOX_PORT": "1", "KLAXON_NICE": nice}


def _niceness(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[16])  # field 19 of proc(5), counted after the command's name


def test_a_worker_runs_at_the_niceness_it_is_given(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "klaxon", "work", "--name", "nice-1", "--queues", "accounts,notify"],
        env=_env(redis_url, "7"), cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(lambda: Worker.count(connection=client) == 1, 60, "the worker to start")
        assert _niceness(proc.pid) == os.nice(0) + 7
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        client.close()


def test_a_niceness_out_of_range_is_refused_at_start(redis_url: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "klaxon", "work", "--burst"],
        env=_env(redis_url, "20"), cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "KLAXON_NICE: Input should be less than or equal to 19" in done.stderr, done.stderr


def test_a_worker_switches_threads_every_millisecond(redis_url: str, tmp_path: Path) -> None:
    client = redis.Redis.from_url(redis_url)
    job = Queue(keys.NOTIFY_QUEUE, connection=client).enqueue("sys.getswitchinterval")
    subprocess.run(
        [sys.executable, "-m", "klaxon", "work", "--burst", "--queues", "notify"],
        env=_env(redis_url, "0"), cwd=tmp_path, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    job.refresh()  # type: ignore[no-untyped-call]
    assert job.return_value() == SWITCH_SECONDS == 0.001
    assert sys.getswitchinterval() != SWITCH_SECONDS  # the test process keeps its own
    client.close()
