"""A worker's evaluation state of the streams it last held, kept across its evaluate jobs.

A drain starts from a stream's state: the last price per series (Decimal) and each stateful
kind's KindState, with the worker's matchers bound to them (rules.kinds.Dispatch.bound). Loading
it costs an HGETALL per hash, a Decimal per series and a re-parse of what the matchers keep
(a move's rings: thousands per ticker stream), and ticker streams change jobs every second or
sooner (workers/pace.py). So when a drain ends cleanly, its worker keeps that state, and the
stream's next job in the same worker uses it instead of loading it, when the state in Redis is
provably the state it kept.

The proof is the stream's state token (keys.state_token): every batch's MULTI that saves the
last prices and the kind state also sets the token to a value no other save ever writes (this
cache's random prefix and a counter), and reads the previous one (SET ... GET). A drain keeps
its state only if
- every save of its own found the token it expected (its load's, then its previous save's): no
  other writer saved in between (a holder whose lock had expired, say);
- its last save is known to have executed (a batch that raised, a failed or unknown MULTI or a
  lost lock ends the drain with an exception or with `held` false, and nothing is kept: the
  in-memory state may hold changes Redis does not); and it released the lock as its holder.
A job takes the kept state out of the cache before it starts (a job that fails so leaves
none behind), and uses it only if the token it GETs with the lock is the one the state was
kept with, and the worker's rules are the same object (a reload builds a new Dispatch, whose
matchers must be bound afresh). Any other holder's save of the stream changes the token; a
holding that saves nothing changes nothing. A job that finds another token loads from Redis.

Every saver must write the token: workers of a version before it, running beside this one
against the same Redis, would change the state unseen (stop all workers to upgrade).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from rules.kinds import Dispatch, KindState

LIMIT = 64  # streams kept per worker (a worker holds a few: ticker partitions, accounts)


@dataclass(slots=True)
class Held:
    """One stream's evaluation state: what a drain reads and changes, and what saved it."""

    dispatch: Dispatch  # the worker's dispatch it was bound from (its rules)
    last: dict[str, Decimal]  # the last price per series field (keys.last_price_field)
    states: dict[str, KindState]  # each stateful kind's state
    bound: Dispatch  # dispatch bound to `states`
    token: str | None  # the stream's state token as of its last save (None: never saved)


class StreamCache:
    """The Held state of the streams this worker drained last, by stream (see the module)."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._prefix = uuid.uuid4().hex[:16]
        self._saves = itertools.count(1)
        self._held: dict[str, Held] = {}

    def token(self) -> str:
        """Return a state token no other save writes (this cache's prefix, a counter)."""
        return f"{self._prefix}:{next(self._saves)}"

    def take(self, stream: str, dispatch: Dispatch) -> Held | None:
        """Remove and return the stream's kept state if it was bound from `dispatch`."""
        held = self._held.pop(stream, None)
        return held if held is not None and held.dispatch is dispatch else None

    def keep(self, stream: str, held: Held) -> None:
        """Keep a stream's state for its next job (the oldest kept goes past the limit)."""
        self._held.pop(stream, None)
        self._held[stream] = held
        while len(self._held) > self.limit:
            del self._held[next(iter(self._held))]

    def __contains__(self, stream: object) -> bool:
        return stream in self._held


def held_state(
    dispatch: Dispatch,
    last: Mapping[str, Decimal],
    states: Mapping[str, KindState],
    token: str | None,
) -> Held:
    """Return a stream's state loaded from Redis, the worker's matchers bound to it."""
    own = dict(states)
    return Held(dispatch, dict(last), own, dispatch.bound(own), token)
