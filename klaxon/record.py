"""`klaxon record --out FILE`: the live streams' entries (ticks and private events) to a file that
`klaxon replay --from FILE` replays.

The file is JSON lines: a header ({"klaxon": "klaxon-record", "format": 1, "streams": [...]}),
then one line per entry, {"stream", "id", "fields"}, as Redis holds it. Recording reads with
XREAD (never the evaluators' consumer group): it takes nothing from the workers. It starts with
the entries added from now on (or, with `backlog`, with every entry the streams still hold) and
stops after `seconds`, after `count` entries, or at Ctrl-C.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO, Any

import orjson
import redis

from klaxon.replay import RECORD, RECORD_FORMAT
from klaxon.settings import WorkerSettings, load
from watcher import keys

BLOCK_MS = 200  # one XREAD waits this long for news, so a deadline or Ctrl-C is seen soon
READ_COUNT = 1000  # entries per stream per XREAD


def streams_of(settings: WorkerSettings) -> list[str]:
    """Return the streams to record: every ticker partition and every account's private stream."""
    ticks = [keys.ticks_stream(p) for p in range(settings.partitions)]
    return ticks + [keys.private_stream(a.venue, a.account) for a in settings.accounts]


def record(out: Path, seconds: float | None, count: int | None, backlog: bool) -> int:
    """Write the streams' entries to `out` until `seconds` pass or `count` entries are written
    (or Ctrl-C); print how many were written."""
    settings = load(WorkerSettings)
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    streams = streams_of(settings)
    written = 0
    try:
        cursors = {s: "0-0" if backlog else _last_id(client, s) for s in streams}
        with out.open("wb") as file:
            header = {"klaxon": RECORD, "format": RECORD_FORMAT, "streams": streams}
            file.write(orjson.dumps(header) + b"\n")
            file.flush()
            written = _copy(client, cursors, file, seconds, count, backlog)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    print(f"recorded {written} entries from {len(streams)} streams to {out}")
    return 0


def _last_id(client: redis.Redis, stream: str) -> str:
    """Return the id of a stream's newest entry ("0-0" when it has none): reading from there
    gives the entries added from now on."""
    newest = client.xrevrange(stream, count=1)
    if not newest or newest[0][0] is None:
        return "0-0"
    entry_id = newest[0][0]
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def _copy(
    client: redis.Redis,
    cursors: dict[str, str],
    file: IO[bytes],
    seconds: float | None,
    count: int | None,
    backlog: bool,
) -> int:
    """Append entries to `file` as they arrive (first, with `backlog`, every entry already
    held, whatever the deadline); return how many were written."""
    deadline = None if seconds is None else time.monotonic() + seconds
    draining = backlog
    written = 0
    while count is None or written < count:
        wait: int | None = BLOCK_MS
        if draining:
            wait = None  # no wait: an empty answer means the backlog is written
        elif deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            wait = max(1, min(BLOCK_MS, int(left * 1000)))
        reply: Any = client.xread(cursors, count=READ_COUNT, block=wait)  # type: ignore[arg-type]
        if not reply:
            draining = False
        for name, entries in reply or ():
            stream = name.decode() if isinstance(name, bytes) else str(name)
            for entry_id, fields in entries:
                if count is not None and written >= count:
                    break
                ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
                line = {
                    "stream": stream,
                    "id": ident,
                    "fields": {k.decode(): v.decode() for k, v in fields.items()},
                }
                file.write(orjson.dumps(line) + b"\n")
                cursors[stream] = ident
                written += 1
        file.flush()
    return written
