"""The system stream (keys.SYSTEM_STREAM): events about klaxon itself that belong to no account.

The watcher's monitor writes evaluation lag there, the delivery engine a channel's dead letters;
the stream is evaluated as every stream is (dirty flag, one coalesced rq `evaluate` job), so
rules route these events like any other. It is capped (MAXLEN ~): these are alerts, not records.
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from watcher import keys
from watcher.events import SystemEvent, encode_event
from watcher.publish import DIRTY_TTL, enqueue_evaluations

MAXLEN = 10_000


def publish_system(client: redis.Redis, events: Sequence[SystemEvent], now_ms: int) -> None:
    """Append `events` to the system stream and queue its evaluation unless one is queued."""
    if not events:
        return
    stream = keys.SYSTEM_STREAM
    pipe = client.pipeline(transaction=False)
    for event in events:
        fields = {b"k": event.kind.encode(), b"d": encode_event(event), b"t": str(now_ms).encode()}
        pipe.xadd(stream, fields, maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
    pipe.set(keys.dirty(stream), 1, nx=True, ex=DIRTY_TTL)
    flagged = pipe.execute()[-1]
    if flagged:
        enqueue_evaluations(client, [stream])


def ensure_system_group(client: redis.Redis) -> None:
    """Create the evaluators' group on the system stream (from its start: nothing is skipped)."""
    try:
        client.xgroup_create(keys.SYSTEM_STREAM, keys.GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
