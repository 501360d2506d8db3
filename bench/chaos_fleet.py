"""The chaos soak's processes: redis-server (AOF), the watcher and the workers, each killable.

Every process is started as in production (`klaxon watch`, `klaxon work`, redis-server with
`appendonly yes`, `appendfsync everysec`); kill() sends SIGKILL and starts a new one at once, as
a supervisor (docker's `restart: always`) would; supervise() restarts any that exited by itself.
A restarted worker gets a new name: rq keeps a killed worker's registration until it expires.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import redis

from bench.procs import stop_all
from klaxon.redis_server import RedisServer

KINDS = ("watcher", "worker", "redis")


class Fleet:
    """The killable processes of one soak, their logs under `home`."""

    def __init__(self, home: Path, env: dict[str, str], workers: int, redis_port: int) -> None:
        self.home = home
        self.env = env
        self.workers = workers
        self.redis = RedisServer(home / "redis", port=redis_port, persist=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # slot -> live process
        self.names: dict[str, str] = {}  # slot -> the name its current process runs as
        self.generation: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()  # processes that died without being killed
        self.cwd = Path(__file__).resolve().parent.parent

    def start_redis(self) -> None:
        """Start (or restart) redis-server on the same port and data directory, AOF everysec."""
        self.redis = RedisServer(self.redis.data_dir, port=self.redis.port, persist=True)
        self.redis.start(timeout=60.0)
        client = redis.Redis.from_url(self.redis.url)
        try:
            client.config_set("appendfsync", "everysec")
        finally:
            client.close()

    def start_workers(self) -> None:
        """Start every worker slot."""
        for n in range(self.workers):
            self._spawn(f"worker-{n + 1}")

    def start_watcher(self) -> None:
        """Start the watcher."""
        self._spawn("watcher")

    def _spawn(self, slot: str) -> None:
        self.generation[slot] += 1
        name = f"{slot}.{self.generation[slot]}"
        args = ["watch"] if slot == "watcher" else ["work", "--name", f"chaos-{name}"]
        with (self.home / f"{name}.log").open("wb") as log:
            self.procs[slot] = subprocess.Popen(
                [sys.executable, "-m", "klaxon", *args],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.cwd,
            )  # fmt: skip
        self.names[slot] = f"chaos-{name}"

    def worker_slots(self) -> list[str]:
        """The worker slots, e.g. ["worker-1", "worker-2"]."""
        return [s for s in self.procs if s.startswith("worker-")]

    def kill(self, kind: str, slot: str | None = None) -> str:
        """SIGKILL one process of `kind` (a worker: `slot`) and start its successor; return it."""
        if kind == "redis":
            process = self.redis.process
            if process is not None:
                process.kill()
                process.wait()
            self.start_redis()
            return "redis"
        target = "watcher" if kind == "watcher" else (slot or "worker-1")
        process = self.procs[target]
        process.kill()
        process.wait()
        self._spawn(target)
        return target

    def supervise(self) -> list[str]:
        """Restart whatever exited on its own; return those slots."""
        restarted = []
        if self.redis.process is not None and self.redis.process.poll() is not None:
            self.exits["redis"] += 1
            self.start_redis()
            restarted.append("redis")
        for slot, process in list(self.procs.items()):
            if process.poll() is not None:
                self.exits["watcher" if slot == "watcher" else "worker"] += 1
                self._spawn(slot)
                restarted.append(slot)
        return restarted

    def stop(self) -> None:
        """SIGTERM the klaxon processes (SIGKILL after 15 s), then stop redis-server."""
        stop_all(self.procs.values(), 15)
        self.redis.stop()
