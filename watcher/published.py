"""The rules version in force, published in Redis with the price series its rules stream.

`klaxon reload` (and the watcher, on SIGHUP or at its first start) loads and validates the rule
files, and only then publishes their version here (keys.RULES: one hash, written in one
command, so a reader never sees a version with another version's series). Workers compare it
with the version they run and reload their own files when it differs; the watcher subscribes to
the series, without loading a single rule, and its monitor reports feed and lag conditions at
the version's thresholds (the `seconds:` of its feed and lag rules).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson
import redis

from watcher import keys

Series = tuple[str, str, str]  # (venue, market, source), as rules.base.Series


@dataclass(frozen=True)
class Published:
    """A published rules version: its hash, the series its rules stream, when (epoch ms), and
    the seconds at which its rules want each monitored condition reported."""

    version: str
    series: frozenset[Series]
    published_ms: int
    thresholds: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def venue_series(self, venue: str) -> frozenset[tuple[str, str]]:
        """Return the (market, source) series of one venue."""
        return frozenset((market, source) for v, market, source in self.series if v == venue)


def publish(
    client: redis.Redis,
    version: str,
    series: Iterable[Series],
    thresholds: Mapping[str, Iterable[float]] | None = None,
) -> Published:
    """Make `version` (with its series and thresholds) the rules version in force; return what
    was written."""
    ordered = sorted(set(series))
    seconds = {name: tuple(sorted(set(s))) for name, s in (thresholds or {}).items()}
    now_ms = int(time.time() * 1000)
    client.hset(
        keys.RULES,
        mapping={
            keys.RULES_VERSION: version,
            keys.RULES_SERIES: orjson.dumps(ordered),
            keys.RULES_PUBLISHED: now_ms,
            keys.RULES_THRESHOLDS: orjson.dumps(seconds),
        },
    )
    return Published(version, frozenset(ordered), now_ms, seconds)


def published_version(client: redis.Redis) -> str | None:
    """Return the rules version in force (None: nothing published yet); one HGET."""
    value = client.hget(keys.RULES, keys.RULES_VERSION)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def read_published(client: redis.Redis) -> Published | None:
    """Return the rules version in force with its series (None: nothing published yet)."""
    version, series, at, thresholds = client.hmget(
        keys.RULES,
        [keys.RULES_VERSION, keys.RULES_SERIES, keys.RULES_PUBLISHED, keys.RULES_THRESHOLDS],
    )
    if version is None or series is None:
        return None
    rows = orjson.loads(series)
    seconds = orjson.loads(thresholds) if thresholds else {}
    return Published(
        version.decode() if isinstance(version, bytes) else str(version),
        frozenset((str(v), str(m), str(s)) for v, m, s in rows),
        int(at or 0),
        {str(name): tuple(float(x) for x in values) for name, values in seconds.items()},
    )
