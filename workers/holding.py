"""Taking a stream to drain it: its lock, its state token and its state, in one round trip.

The state (the last prices and each stateful kind's KindState, workers/held.py) is loaded with
the lock unless this worker kept it from its last drain of the stream; the kept state is used
only when the token the lock's round trip GETs is the one it was kept with (workers/held.py says
why that is safe), else it is loaded in one more round trip. Hashes saved with
workers.state.TABLE_FIELD load without it (load_table).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import redis
from redis.client import Pipeline

from rules.kinds import KindState
from watcher import keys
from workers.context import Context
from workers.held import Held, held_state
from workers.state import StreamLock, load_table, text_of

log = logging.getLogger(__name__)


def acquire(
    client: redis.Redis, stream: str, context: Context, lock: StreamLock
) -> tuple[bool, Held | None, str | None, list[Any]]:
    """Try to take the stream's lock, in one round trip with its state token and, unless this
    worker kept the stream's state (workers/held.py), the state itself. Return whether the lock
    was taken, the kept state (taken out of the cache), the token and what was loaded."""
    kept = context.streams.take(stream, context.dispatch)
    with client.pipeline(transaction=False) as pipe:
        lock.acquire(pipe)
        pipe.get(keys.state_token(stream))
        if kept is None:
            queue_state(pipe, stream, context.dispatch.stateful)
        taken, token, *loaded = pipe.execute()
    if not taken and kept is not None:
        context.streams.keep(stream, kept)  # the token decides at the next job
    return bool(taken), kept, None if token is None else text_of(token), loaded


def load_state(
    client: redis.Redis,
    stream: str,
    context: Context,
    kept: Held | None,
    token: str | None,
    loaded: list[Any],
) -> Held:
    """Return the stream's state: the kept one if the token is the one it was kept with
    (nobody saved since), else what the lock's round trip loaded (or one more round trip)."""
    dispatch = context.dispatch
    if kept is not None:
        if token is not None and token == kept.token:
            return kept
        with client.pipeline(transaction=False) as pipe:
            queue_state(pipe, stream, dispatch.stateful)
            loaded = pipe.execute()
    raw_last, *saved = loaded
    last: dict[str, Decimal] = {}
    for field, text in load_table(raw_last).items():
        try:
            last[field] = Decimal(text)
        except ArithmeticError:
            log.warning("%s: ignoring a bad last price for %s", stream, field)
    stateful = dispatch.stateful
    states = {kind: KindState(load_table(raw)) for kind, raw in zip(stateful, saved, strict=True)}
    return held_state(dispatch, last, states, token)


def queue_state(pipe: Pipeline, stream: str, stateful: Sequence[str]) -> None:
    """Queue the HGETALLs of the stream's last prices and of each stateful kind's state."""
    pipe.hgetall(keys.last_prices(stream))
    for kind in stateful:
        pipe.hgetall(keys.kind_state(stream, kind))
