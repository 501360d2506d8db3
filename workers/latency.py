"""Exchange-time -> claim-time latency of evaluated ticks, in fixed millisecond buckets.

Recorded per batch in process (no Redis round trip per tick); each batch's bucket counts also
ride the batch's own pipeline into keys.STATS, so a benchmark can read them from any process.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable

BOUNDS_MS: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


def bucket_field(bucket: int) -> str:
    """Name the keys.STATS field counting one bucket, e.g. "latency_le_5ms"."""
    if bucket < len(BOUNDS_MS):
        return f"latency_le_{BOUNDS_MS[bucket]}ms"
    return f"latency_over_{BOUNDS_MS[-1]}ms"


class LatencyHistogram:
    """Counts of latencies per bucket (bucket i holds values <= BOUNDS_MS[i])."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BOUNDS_MS) + 1)
        self._lock = threading.Lock()

    def record(self, latencies_ms: Iterable[int]) -> dict[int, int]:
        """Add a batch of latencies; return this batch's count per bucket."""
        batch: dict[int, int] = {}
        for value in latencies_ms:
            bucket = bisect.bisect_left(BOUNDS_MS, value)
            batch[bucket] = batch.get(bucket, 0) + 1
        with self._lock:
            for bucket, count in batch.items():
                self.counts[bucket] += count
        return batch

    @property
    def total(self) -> int:
        """Return how many latencies were recorded."""
        return sum(self.counts)

    def quantile(self, q: float) -> int | None:
        """Return the upper bound (ms) of the bucket holding quantile q; None if empty or beyond."""
        total = self.total
        if total == 0:
            return None
        rank = q * total
        seen = 0
        for bucket, count in enumerate(self.counts):
            seen += count
            if seen >= rank and count:
                return BOUNDS_MS[bucket] if bucket < len(BOUNDS_MS) else None
        return None

    def snapshot(self) -> dict[str, int]:
        """Return the non-empty buckets by their keys.STATS field name."""
        return {bucket_field(i): c for i, c in enumerate(self.counts) if c}
