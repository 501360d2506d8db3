"""How far behind the evaluators are: the age of each stream's oldest entry not yet evaluated.

An entry is evaluated once the evaluators' group has acked it. The oldest one not acked is the
group's oldest pending entry (read by a job that has not finished, or died), else the first entry
after the group's last delivered id (not read yet). Entry ids are Redis's clock in ms, read in
the same round trip as TIME: the age needs no clock of ours. Two round trips for any number of
streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from watcher import keys


@dataclass(frozen=True)
class Backlog:
    """A stream's unevaluated entries: the oldest one's age, and how many there are."""

    seconds: float
    entries: int


def backlogs(client: redis.Redis, streams: Sequence[str]) -> dict[str, Backlog]:
    """Return the backlog of each stream that has one (none: absent from the answer)."""
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for stream in streams:
        pipe.xinfo_groups(stream)
    now, *infos = pipe.execute(raise_on_error=False)
    if isinstance(now, Exception):
        raise now
    now_ms = int(now[0]) * 1000 + int(now[1]) // 1000
    asked: list[tuple[str, int]] = []
    reads = client.pipeline(transaction=False)
    for stream, info in zip(streams, infos, strict=True):
        if isinstance(info, redis.ResponseError):
            continue  # no such stream yet: nothing to evaluate
        if isinstance(info, Exception):
            raise info
        group = _group(info)
        if group is None:
            continue  # no evaluator ever read it: the first evaluation creates the group
        pending, lag = int(group["pending"]), group.get("lag")
        if pending:
            reads.xpending_range(stream, keys.GROUP, min="-", max="+", count=1)
        elif lag is None or int(lag) > 0:  # None: Redis cannot tell (entries were deleted)
            reads.xrange(stream, min=f"({_text(group['last-delivered-id'])}", count=1)
        else:
            continue
        asked.append((stream, pending + int(lag or 0)))
    found: dict[str, Backlog] = {}
    for (stream, count), reply in zip(asked, reads.execute() if asked else [], strict=True):
        if not reply:
            continue
        first = reply[0]
        entry_id = first["message_id"] if isinstance(first, dict) else first[0]
        age_ms = max(0, now_ms - int(_text(entry_id).split("-")[0]))
        found[stream] = Backlog(age_ms / 1000, max(count, 1))
    return found


def _group(info: Any) -> dict[str, Any] | None:
    for group in info:
        if _text(group["name"]) == keys.GROUP:
            return dict(group)
    return None


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
