"""Replay: the workers' evaluation over a recorded or scripted path, in process, sending nothing.

Each stream entry goes through the code a live evaluator runs (workers.firings.Batch: decoding,
every kind's matcher, the messages, the previous price per series), one entry per batch, and its
firings through the claim script's semantics (workers/state.py), here on a dict and on the
entries' own clock (an entry id's milliseconds): a once-rule fires once, a cooldown-rule at most
once per cooldown of event time, an every-rule once per event (a fill once per trade). Nothing
is claimed in Redis, queued or sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rules.base import utc_text
from rules.load import RuleSet
from watcher.events import utc_from_ms
from workers.context import Context
from workers.firings import Batch
from workers.state import NEW, REDELIVERED, TAKEN, ClaimRequest, ClaimResult

# One stream entry as Redis holds it: stream, entry id ("<ms>-<seq>"), fields.
Entry = tuple[str, str, dict[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Fired:
    """One firing a replay found: when (the event's exchange time), which rule, what it says."""

    at_ms: int
    rule: str
    channels: tuple[str, ...]
    message: str

    def line(self) -> str:
        """Return the firing as `klaxon replay` prints it."""
        when = utc_text(utc_from_ms(self.at_ms))
        return f"{when} {self.rule} -> {','.join(self.channels)}: {self.message}"


class Claims:
    """The claim script's answers (workers/state.py _CLAIM) kept in a dict, on a given clock."""

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, int | None]] = {}  # key -> firing, expiry ms (None: never)

    def claim(self, requests: Sequence[ClaimRequest], now_ms: int) -> list[ClaimResult]:
        """Answer a batch's claims in order, as the script does at `now_ms`."""
        results: list[ClaimResult] = []
        for request in requests:
            held = self._held.get(request.key)
            if held is not None and held[1] is not None and held[1] < now_ms:
                held = None  # expired: Redis keeps a key until its expiry time has passed
            if held is None:
                expiry = now_ms + request.ttl_ms if request.ttl_ms > 0 else None
                self._held[request.key] = (request.firing, expiry)
                results.append(ClaimResult(NEW, request.ttl_ms if request.ttl_ms > 0 else -1))
            else:
                firing, expiry = held
                status = REDELIVERED if firing == request.firing else TAKEN
                results.append(ClaimResult(status, -1 if expiry is None else expiry - now_ms))
        return results


class Replay:
    """Evaluates entries in order through one RuleSet, as one worker holding every stream."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.context = Context.build(ruleset)
        self.context.delivers = False
        self._now_ms = 0
        self.context.clock = lambda: self._now_ms / 1000
        self.claims = Claims()
        self.last: dict[str, Decimal] = {}
        self.entries = 0
        self.evaluated = 0
        self.undecodable = 0

    def entry(self, stream: str, entry_id: str, fields: dict[bytes, bytes]) -> list[Fired]:
        """Evaluate one entry; return what it fired (claims won), in order."""
        self._now_ms = int(entry_id.partition("-")[0])
        batch = Batch(stream, self.context, self.last)
        batch.ids.append(entry_id.encode())
        batch.entry(entry_id, fields)
        self.entries += 1
        self.evaluated += batch.evaluated
        self.undecodable += batch.undecodable
        results = self.claims.claim([f.claim for f in batch.firings], self._now_ms)
        self.context.remember(batch.firings, results)
        return [
            Fired(f.at_ms, f.rule.name, f.rule.channels, f.body)
            for f, r in zip(batch.firings, results, strict=True)
            if r.status == NEW
        ]

    def run(self, entries: Iterable[Entry]) -> list[Fired]:
        """Evaluate every entry in order; return everything fired."""
        fired: list[Fired] = []
        for stream, entry_id, fields in entries:
            fired += self.entry(stream, entry_id, fields)
        return fired
