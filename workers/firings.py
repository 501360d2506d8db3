"""What a batch of stream entries fires: decode each entry, match the rules, build claims.

Entries dispatch on their event kind through rules.kinds.Dispatch; no rule kind is named here.
The hot path: a tick row is a tuple of strings and a Decimal (no pydantic per tick), each kind
reading ticks (a TickMatcher, e.g. the PriceIndex bisecting levels per series) answers positions
in its book, a rule is built only for a position that fires (the price book keeps the ones
firing now), and a message is rendered only for a firing that local state says can still win
its claim. Every other event is decoded to its model and matched by the kinds that read it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import orjson

from rules.actions import Action
from rules.base import Cooldown, Every, Rule
from rules.kinds import Dispatch, orphan
from watcher import keys
from watcher.errors import sample
from watcher.events import Event, decode_event
from watcher.sanity import tick_value
from workers.context import Context
from workers.state import ClaimRequest

log = logging.getLogger(__name__)

EVERY_CLAIM_TTL_MS = 7 * 86_400 * 1000  # per-event claims only need to outlive redeliveries
# What a malformed entry raises while decoding (JSONDecodeError, ValidationError and
# UnicodeDecodeError are ValueErrors; InvalidOperation is an ArithmeticError).
DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, ArithmeticError, AttributeError)

# A decoded tick: market, source, exact price text, price, bid text, ask text, exchange ms.
Tick = tuple[str, str, str, Decimal, str, str, int]


@dataclass(slots=True)
class Firing:
    """One rule fired by one event: its claim, and the message to send if the claim is won."""

    rule: Rule
    slot: tuple[str, int]  # (rule kind, the rule's position in its kind's book)
    firing: str
    claim: ClaimRequest
    body: str
    at_ms: int  # the exchange time of the event that fired it
    actions: tuple[Action, ...]  # what it does once its claim is won (the rule's, for this cause)


class Batch:
    """What one batch of entries produced: firings, changed prices, tick times, counts."""

    def __init__(
        self,
        stream: str,
        context: Context,
        last: dict[str, Decimal],
        dispatch: Dispatch | None = None,
    ) -> None:
        self.stream = stream
        self.context = context
        # The drain's: the context's matchers, stateful kinds' bound to this stream's state.
        self.dispatch = dispatch if dispatch is not None else context.dispatch
        self.last = last  # the drain's previous price per series, updated as ticks pass
        self.ids: list[bytes] = []
        self.firings: list[Firing] = []
        self.changed: dict[str, str] = {}
        self.tick_ms: list[int] = []
        self.slots: set[tuple[str, int]] = set()
        self.evaluated = 0
        self.undecodable = 0
        # Events of emulated orders whose rule is gone (a reload renamed or removed it): their
        # records still follow them (workers/order_orphans.py).
        self.orphans: list[tuple[str, Event]] = []

    def entry(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        """Evaluate one stream entry; an undecodable one is logged, counted and skipped."""
        try:
            if fields.get(b"k") == b"ticks":
                venue = fields[b"v"].decode()
                ticks = _decode_ticks(fields[b"d"])
            else:
                event = decode_event(fields[b"d"])
        except DECODE_ERRORS as e:
            self.undecodable += 1
            raw = b" ".join(k + b"=" + v for k, v in fields.items())
            log.warning(
                "%s: skipping undecodable entry %s (%s): %s",
                self.stream,
                entry_id,
                type(e).__name__,
                sample(raw),
            )
            return
        if fields.get(b"k") == b"ticks":
            self._ticks(entry_id, venue, ticks)
        else:
            self.evaluated += 1
            self._event(entry_id, event)  # events no kind reads are acked as seen

    def _ticks(self, entry_id: str, venue: str, ticks: list[Tick]) -> None:
        dispatch = self.dispatch.ticks
        candidates = dispatch.candidates
        slots = self.slots
        last = self.last
        for row, (market, source, price_text, now, bid, ask, ms) in enumerate(ticks):
            field = keys.last_price_field(venue, market, source)
            prev = last.get(field)
            last[field] = now
            self.changed[field] = price_text
            self.tick_ms.append(ms)
            for joint in candidates(venue, market, source, prev, now, ms):
                kind, book, position = dispatch.resolve(joint)
                slot = (kind, position)
                if slot in slots:
                    continue  # a once/cooldown rule already queued in this batch (_consider)
                rule = book[position]
                message = partial(rule.render_tick, now, prev, ms, bid, ask)
                actions = partial(rule.tick_actions, now, prev, ms, bid, ask)
                self._consider(rule, slot, entry_id, row, None, message, actions, ms)
        self.evaluated += len(ticks)

    def _event(self, entry_id: str, event: Event) -> None:
        consumers = self.dispatch.events.get(event.kind, ())
        at_ms = int(event.at.timestamp() * 1000)
        matched: list[Rule] = []
        for consumer in consumers:
            for position in consumer.matcher.match(event):
                rule = consumer.book[position]
                matched.append(rule)
                slot = (consumer.kind, position)
                message = partial(rule.render_event, event)
                actions = partial(rule.event_actions, event)
                subject = rule.subject(event)
                self._consider(rule, slot, entry_id, 0, subject, message, actions, at_ms)
        if orphan(event, matched):
            self.orphans.append((entry_id, event))

    def _consider(
        self,
        rule: Rule,
        slot: tuple[str, int],
        entry_id: str,
        row: int,
        subject: str | None,
        message: Callable[[], str],
        actions: Callable[[], tuple[Action, ...]],
        at_ms: int,
    ) -> None:
        """Queue a firing for the batch's claim call, unless local state says it cannot win."""
        firing = firing_of(rule.id, self.stream, entry_id, row)
        repeat = rule.repeat
        if isinstance(repeat, Every):
            # Each event fires once: what the rule says the event is about (a fill's trade: a
            # backfilled duplicate is the same trade, in another entry), else the stream
            # position (a tick).
            about = subject if subject is not None else firing
            claim = ClaimRequest(keys.claim(about), firing, EVERY_CLAIM_TTL_MS)
        else:
            if slot in self.slots:
                return  # one claim per once/cooldown rule per batch: later ones would lose
            if isinstance(repeat, Cooldown):
                if self.context.cooldown_until.get(rule.id, 0.0) > self.context.clock():
                    return
                ttl = max(1, round(repeat.seconds * 1000))
            else:
                ttl = 0
            self.slots.add(slot)
            claim = ClaimRequest(keys.claim(rule.id), firing, ttl)
        self.firings.append(Firing(rule, slot, firing, claim, message(), at_ms, actions()))


def firing_of(rule_id: str, stream: str, entry_id: str, row: int) -> str:
    """Return the firing id of a rule fired by one row of one stream entry."""
    # Entry ids are per stream (two accounts' streams can both hold "1700000000000-0"), so
    # the stream is part of the event's identity.
    return keys.firing_id(rule_id, f"{stream}/{entry_id}", row)


def _decode_ticks(data: bytes) -> list[Tick]:
    """Parse and check every row of a ticks entry before any of it is evaluated."""
    rows = orjson.loads(data)
    if not isinstance(rows, list):
        raise TypeError("ticks entry is not a list of rows")
    ticks: list[Tick] = []
    for row in rows:
        market, source, price, bid, ask, ms = row
        if not all(isinstance(v, str) for v in (market, source, price, bid, ask)):
            raise TypeError("tick row fields must be strings")
        # What the watcher refuses is undecodable here too (any writer may add to a stream): an
        # absurd time or price would raise later, rendering a message, before the entry is acked.
        now = tick_value(price, ms)
        ticks.append((market, source, price, now, bid, ask, ms))
    return ticks
