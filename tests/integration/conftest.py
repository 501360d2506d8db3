"""Fixtures of the integration tests: simulators (OKX, Bybit), python-okx's TradeAPI pointed at
the OKX one, and the workers' harness (rule files, entries, burst workers, a local inbox)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from okx import Trade

from simulator import Simulator
from tests.integration.bybit_client import bybit_config
from tests.integration.sim_client import KEY, PASSPHRASE, SECRET, _config
from tests.integration.test_workers_harness import Klaxon, harness


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator whose prices move only through the control API."""
    with Simulator(_config()) as running:
        yield running


@pytest.fixture
def trade(sim: Simulator) -> Iterator[Any]:
    """python-okx's TradeAPI pointed at the simulator."""
    api = Trade.TradeAPI(KEY, SECRET, PASSPHRASE, flag="1", domain=sim.base_url, debug=False)
    yield api
    api.close()


@pytest.fixture
def bybit_sim() -> Iterator[Simulator]:
    """A Bybit simulator whose prices move only through the control API."""
    with Simulator(bybit_config()) as running:
        yield running


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    """The workers' harness over this test's Redis (tests/integration/test_workers_harness.py)."""
    with harness(redis_url, tmp_path) as k:
        yield k
