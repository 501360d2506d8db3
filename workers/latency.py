"""Exchange-time -> decision latency of evaluated ticks, in fixed millisecond buckets.

Two histograms: `decision` (every tick: its exchange timestamp -> its batch's claims answered)
and `enqueued` (ticks that fired: exchange timestamp -> their notification jobs stored).
Recorded per batch in process (no Redis round trip per tick); each batch's bucket counts also
ride the batch's own pipeline into keys.STATS, so a benchmark or `klaxon status` can read them.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Mapping

from watcher import keys

BOUNDS_MS: tuple[int, ...] = (
    *range(1, 11), 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750,
    1000, 1500, 2000, 3000, 5000, 10_000, 30_000, 60_000,
)  # fmt: skip
DECISION = "decision"
ENQUEUED = "enqueued"


def bucket_field(name: str, bucket: int) -> str:
    """Name the keys.STATS field counting one bucket, e.g. "decision_le_5ms"."""
    if bucket < len(BOUNDS_MS):
        return keys.latency_field(name, BOUNDS_MS[bucket])
    return keys.latency_field(name, BOUNDS_MS[-1], over=True)


class LatencyHistogram:
    """Counts of latencies per bucket (bucket i holds values <= BOUNDS_MS[i])."""

    def __init__(self, name: str = DECISION) -> None:
        self.name = name
        self.counts = [0] * (len(BOUNDS_MS) + 1)
        self._lock = threading.Lock()

    def record(self, latencies_ms: Iterable[int]) -> dict[str, int]:
        """Add a batch of latencies; return this batch's count per keys.STATS field."""
        batch: dict[int, int] = {}
        for value in latencies_ms:
            bucket = bisect.bisect_left(BOUNDS_MS, value)
            batch[bucket] = batch.get(bucket, 0) + 1
        with self._lock:
            for bucket, count in batch.items():
                self.counts[bucket] += count
        return {bucket_field(self.name, b): n for b, n in batch.items()}

    @property
    def total(self) -> int:
        """Return how many latencies were recorded."""
        return sum(self.counts)

    def quantile(self, q: float) -> int | None:
        """Return the upper bound (ms) of the bucket holding quantile q; None if empty or beyond."""
        return _quantile(self.counts, q)

    def snapshot(self) -> dict[str, int]:
        """Return the non-empty buckets by their keys.STATS field name."""
        return {bucket_field(self.name, i): c for i, c in enumerate(self.counts) if c}


def counts_from_stats(stats: Mapping[bytes, bytes] | Mapping[str, str], name: str) -> list[int]:
    """Rebuild one histogram's bucket counts from a keys.STATS hash."""
    fields = {bucket_field(name, i): i for i in range(len(BOUNDS_MS) + 1)}
    counts = [0] * (len(BOUNDS_MS) + 1)
    for key, value in stats.items():
        text = key.decode() if isinstance(key, bytes) else key
        if text in fields:
            counts[fields[text]] = int(value)
    return counts


def quantile_of(counts: list[int], q: float) -> int | None:
    """The upper bound (ms) of the bucket holding quantile q of `counts`; None if empty."""
    return _quantile(counts, q)


def _quantile(counts: list[int], q: float) -> int | None:
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1.0, q * total)
    seen = 0
    for bucket, count in enumerate(counts):
        seen += count
        if seen >= rank and count:
            return BOUNDS_MS[bucket] if bucket < len(BOUNDS_MS) else None
    return None
