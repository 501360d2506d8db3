"""Start a private redis-server on a free loopback port (for `klaxon run` and the tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

from klaxon.children import die_with_parent
from watcher.errors import ConfigError


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(count: int, attempts: int = 50) -> int:
    """Return the first of `count` consecutive TCP ports free on 127.0.0.1 right now."""
    for _ in range(attempts):
        first = free_port()
        if first + count - 1 <= 65535 and all(_free(first + i) for i in range(1, count)):
            return first
    raise OSError(f"no {count} consecutive free ports on 127.0.0.1 in {attempts} tries")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class RedisServer:
    """A redis-server child process bound to 127.0.0.1, with its own data directory."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        persist: bool = False,
        password: str | None = None,
    ) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ConfigError(
                "redis-server not found on PATH: install it (Debian: apt-get install redis-server)"
            )
        self.binary = binary
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persist = persist
        self.password = password
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The redis:// URL of this server (with its password, if it has one)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", str(self.data_dir), "--daemonize", "no", "--loglevel", "warning"]
        args += ["--appendonly", "yes"] if self.persist else ["--save", "", "--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        with (self.data_dir / "redis.log").open("ab") as log:
            # Its own session: Ctrl-C reaches only its owner, which stops it last, after
            # every process that uses it; and it dies with its owner if that is killed.
            self.process = subprocess.Popen(  # noqa: S603 - fixed binary, our own arguments
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ConfigError(
                    f"redis-server exited with {self.process.returncode}; "
                    f"see {self.data_dir / 'redis.log'}"
                )
            try:
                if client.ping():
                    break
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"redis-server did not answer on port {self.port}")
            time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
