"""Tick latency buckets: what a benchmark reads back from a worker."""

from __future__ import annotations

import pytest

from workers.latency import BOUNDS_MS, LatencyHistogram, bucket_field


@pytest.mark.parametrize(
    ("latency_ms", "field"),
    [
        (-3, "latency_le_1ms"),  # an exchange clock slightly ahead of ours
        (0, "latency_le_1ms"),
        (1, "latency_le_1ms"),
        (2, "latency_le_2ms"),
        (3, "latency_le_5ms"),
        (10_000, "latency_le_10000ms"),
        (10_001, "latency_over_10000ms"),
    ],
)
def test_latencies_land_in_their_bucket(latency_ms: int, field: str) -> None:
    histogram = LatencyHistogram()
    batch = histogram.record([latency_ms])
    assert {bucket_field(b): n for b, n in batch.items()} == {field: 1}
    assert histogram.snapshot() == {field: 1}


def test_batches_accumulate_and_quantiles_read_bucket_bounds() -> None:
    histogram = LatencyHistogram()
    histogram.record([1] * 90)
    histogram.record([40] * 9 + [20_000])
    assert histogram.total == 100
    assert histogram.quantile(0.5) == 1
    assert histogram.quantile(0.95) == 50
    assert histogram.quantile(1.0) is None  # beyond the last bound
    assert LatencyHistogram().quantile(0.5) is None
    assert len(BOUNDS_MS) + 1 == len(histogram.counts)
