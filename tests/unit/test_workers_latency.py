"""Tick latency buckets: what a benchmark and `klaxon status` read back from a worker."""

from __future__ import annotations

import pytest

from workers.latency import (
    BOUNDS_MS,
    ENQUEUED,
    LatencyHistogram,
    counts_from_stats,
    quantile_of,
)


@pytest.mark.parametrize(
    ("latency_ms", "field"),
    [
        (-3, "decision_le_1ms"),  # an exchange clock slightly ahead of ours
        (0, "decision_le_1ms"),
        (1, "decision_le_1ms"),
        (2, "decision_le_2ms"),
        (11, "decision_le_12ms"),
        (60_000, "decision_le_60000ms"),
        (60_001, "decision_over_60000ms"),
    ],
)
def test_latencies_land_in_their_bucket(latency_ms: int, field: str) -> None:
    histogram = LatencyHistogram()
    assert histogram.record([latency_ms]) == {field: 1}
    assert histogram.snapshot() == {field: 1}


def test_batches_accumulate_and_quantiles_read_bucket_bounds() -> None:
    histogram = LatencyHistogram()
    histogram.record([1] * 90)
    histogram.record([40] * 9 + [90_000])
    assert histogram.total == 100
    assert histogram.quantile(0.5) == 1
    assert histogram.quantile(0.95) == 40
    assert histogram.quantile(1.0) is None  # beyond the last bound
    assert LatencyHistogram().quantile(0.5) is None
    assert len(BOUNDS_MS) + 1 == len(histogram.counts)


def test_counts_round_trip_through_a_stats_hash() -> None:
    histogram = LatencyHistogram(ENQUEUED)
    histogram.record([3, 3, 7, 250])
    stats = {k.encode(): str(v).encode() for k, v in histogram.snapshot().items()}
    stats[b"decision_le_3ms"] = b"99"  # another histogram's field is not mixed in
    counts = counts_from_stats(stats, ENQUEUED)
    assert counts == histogram.counts
    assert quantile_of(counts, 0.5) == 3
    assert quantile_of(counts, 0.99) == 300
