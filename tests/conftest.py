"""Shared fixtures: a real redis-server per test, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from klaxon.redis_server import RedisServer
from tests.local_http import LocalHttp


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A fresh redis-server for this test alone; a missing binary fails the test."""
    with RedisServer(tmp_path / "redis") as server:
        yield server.url


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    """A client of this test's redis-server (bytes responses, as rq expects)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def local() -> Iterator[LocalHttp]:
    """A scripted REST stand-in on loopback (tests/local_http.py)."""
    server = LocalHttp()
    yield server
    server.close()
