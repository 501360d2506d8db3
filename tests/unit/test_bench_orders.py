"""bench --orders' reading of a firing id (the stream entry that fired it, to the ms), and its
pooling of several runs' orders (--runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.orders import EACH, OrderOptions, _entry_ms, _q, pooled, pooled_table, save
from watcher import keys
from workers.firings import firing_of


def test_a_firing_names_the_ms_of_its_stream_entry() -> None:
    firing = firing_of("o000410-176bfcd60403", keys.ticks_stream(1), "1796283142997-3", 20)
    assert _entry_ms(firing) == 1796283142997


def _run(latencies: list[int], steal: float) -> dict[str, Any]:
    return {
        EACH: {"tick_to_order_ms": latencies, "tick_to_sent_ms": [v - 1 for v in latencies]},
        "tick_to_order_ms": {"p99": _q(latencies, 0.99)},
        "tick_to_sent_ms": {"p99": _q([v - 1 for v in latencies], 0.99)},
        "host_cpu_pct": {"steal": steal},
        "orders_placed": len(latencies),
        "orders_expected": len(latencies),
        "duplicates": 0,
    }


def test_runs_pool_their_orders_into_one_sample_beside_each_runs_own_p99() -> None:
    fast, slow = list(range(1, 101)), list(range(101, 201))  # ms, 100 orders each
    figures = pooled([("a-orders.json", _run(slow, 12.5)), ("b-orders.json", _run(fast, 0.1))])
    # 200 orders: the p99 is the 199th (index 198), the p50 the 101st, of both runs together.
    assert figures["tick_to_order_ms"] == {
        "p50": 101, "p90": 181, "p99": 199, "max": 200, "count": 200,
    }  # fmt: skip
    assert figures["tick_to_sent_ms"]["p99"] == 198
    assert (figures["orders_placed"], figures["orders_expected"], figures["duplicates"]) == (
        200,
        200,
        0,
    )
    assert figures["runs"] == [
        {"file": "a-orders.json", "p99": 200, "sent_p99": 199, "steal_pct": 12.5},
        {"file": "b-orders.json", "p99": 100, "sent_p99": 99, "steal_pct": 0.1},
    ]
    assert "2 runs pooled (200 orders)" in pooled_table(figures)


def test_a_saved_run_leaves_out_every_orders_latencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    figures = _run([1, 2, 3], 0.0)
    path = save(OrderOptions(), figures)
    saved = json.loads(path.read_text())["figures"]
    assert EACH not in saved
    assert saved["tick_to_order_ms"] == {"p99": 3}
    assert figures[EACH]["tick_to_order_ms"] == [1, 2, 3]  # still there for pooled()
    assert save(OrderOptions(), pooled([("a", figures)]), pooled=True).name.endswith(
        "-orders-pooled.json"
    )
