"""The Redis password in KLAXON_REDIS_URL never shows: not in `klaxon run`'s banner, not in any
child's log at DEBUG, not in `klaxon status`, not in the error of a refused login."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from klaxon.redis_server import RedisServer
from tests.waiting import wait_until
from watcher import keys

PASSWORD = "redis-pw-4f8e2a7c91"
WRONG = "wrong-pw-0b3d6e9a55"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server that requires PASSWORD."""
    with RedisServer(tmp_path / "redis", password=PASSWORD) as running:
        yield running


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    return env | {"KLAXON_REDIS_URL": url, "KLAXON_LOG_LEVEL": "DEBUG", "KLAXON_INBOX_PORT": "1"}


def _klaxon(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "klaxon", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.timeout(120)
def test_klaxon_run_and_its_children_never_print_the_redis_password(
    server: RedisServer, tmp_path: Path
) -> None:
    assert PASSWORD in server.url
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "klaxon", "run", "--no-demo", "--workers", "1",
             "--home", str(tmp_path / "home")],
            stdout=out, stderr=subprocess.STDOUT, env=_env(server.url), cwd=tmp_path,
        )  # fmt: skip
    client = redis.Redis.from_url(server.url)
    private = keys.private_stream("okx", "main")
    try:
        # The watcher logged in to Redis with the password and wrote its feed statuses.
        wait_until(lambda: client.xlen(private) > 0, 60, "the watcher's first event in Redis")
        wait_until(lambda: "klaxon: running" in log.read_text(), 30, "klaxon run's banner")
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        client.close()
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "klaxon: redis redis://:***@127.0.0.1:" in output
    assert PASSWORD not in output


def test_status_and_a_refused_login_never_print_the_password(
    server: RedisServer, tmp_path: Path
) -> None:
    status = _klaxon("status", env=_env(server.url), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "queue klaxon-evaluate: 0 waiting" in status.stdout
    assert PASSWORD not in status.stdout + status.stderr
    wrong = server.url.replace(PASSWORD, WRONG)
    for args in (("status",), ("work", "--burst")):
        refused = _klaxon(*args, env=_env(wrong), cwd=tmp_path)
        assert refused.returncode != 0
        assert "klaxon: Redis: AuthenticationError: invalid username-password" in refused.stderr
        assert WRONG not in refused.stdout + refused.stderr
