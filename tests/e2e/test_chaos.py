"""The chaos soak's short form (bench/chaos.py): kill -9 a watcher, a worker and redis-server
(AOF, appendfsync everysec) under load while fills happen and emulated stops are armed and
fire; nothing lost, nothing sent twice, one order per stop.

Every process is real and started as in production; the run's length grows (not its
assertions) when the machine is slow: it goes on until every kind was killed at least once.
Heal times are the soak's figures (python -m bench --chaos), not asserted here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos import ChaosOptions, execute
from bench.chaos_fleet import KINDS

OPTIONS = ChaosOptions(
    minutes=1.0,
    rate=500,
    fills=50,
    firing=40,
    markets=20,
    stops=20,
    stop_rounds=5,
    kill_every=(3.0, 5.0),
    min_kills_each=1,
    heal_timeout=180.0,
    settle_timeout=300.0,
)


@pytest.mark.timeout(900)
def test_no_fill_lost_no_order_twice_nothing_sent_twice_while_processes_are_killed(
    tmp_path: Path,
) -> None:
    result = execute(OPTIONS, tmp_path / "soak")
    assert {kind: result["kills"].get(kind, 0) >= 1 for kind in KINDS} == dict.fromkeys(
        KINDS, True
    ), result["kills"]
    assert result["appendfsync"] == "everysec"
    assert result["orders_placed"] == OPTIONS.fills
    assert result["fills_made"] == OPTIONS.fills
    assert (result["fills_lost"], result["fill_alerts_unknown"]) == (0, 0), result
    assert result["fill_alerts_delivered"] == OPTIONS.fills, result
    assert result["fill_duplicates"] == 0, result
    assert (result["firing_delivered"], result["firing_duplicates"]) == (OPTIONS.firing, 0)
    assert result["stops_armed"] == OPTIONS.stops, result
    assert (result["stop_orders_placed"], result["duplicate_orders"]) == (OPTIONS.stops, 0), result
    assert (result["stop_fills_notified"], result["stop_fill_duplicates"]) == (OPTIONS.stops, 0)
