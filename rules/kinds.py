"""The registry of rule kinds, and the contract a kind keeps with the workers.

A kind is one rules/ module with a Rule subclass (KIND: the key a rule file uses, PLACEHOLDERS,
DEFAULT_MESSAGE, DEFAULT_REPEAT, parse_spec) and a Book, plus one Kind line in KINDS below:
- the Book is the kind's compiled rules (pure, in RuleSet.books[kind], shared by every worker):
  add(rule) -> position, len, book[position] -> Rule, markets(), and matcher();
- book.matcher() builds a worker's live side of the book (a Matcher). It may keep in-memory
  state between events (which once-rules are retired, a move's window) and answers which rules
  an event fires, as positions;
- Kind.events names the event kinds (watcher.events `kind`) the kind consumes. Tick rows (event
  kind TICKER) travel as lean rows, not models: their matcher is a TickMatcher, asked per row
  with (venue, market, source, prev, now, ms: the tick's exchange time) and no object built per
  tick; every other event is the decoded model, given to EventMatcher.match.
Options (hold, rearm, expires, for: rules/timing.py) are the matchers' too: a kind asks a Gate
(rules/gate.py) about its rules that have any, with the tick's or event's time; quiet hours
ride on each Notify action (the delivery holds them back).
Workers dispatch on the event's kind through Dispatch and name no rule kind: a firing's rule
renders its own message (Rule.render_event / render_tick), says what an every-claim is about
(Rule.subject) and declares its actions (Rule.actions); once its claim is held for good the
rule is retired through its matcher.

State: a matcher lives as long as its worker's loaded RuleSet (a reload builds new ones) and
is never shared between processes, so state that must survive a restart or move between
workers (a trailing stop's high-water mark, a move's window, a hold timer) belongs in Redis,
with the drain's own. A kind declares it by giving its matcher a bind(state) method (a
StatefulMatcher): then, for each stream it drains, the drain loads the kind's KindState (one
Redis hash per (stream, kind), keys.kind_state) in the pipeline that takes the stream's lock,
evaluates through matcher.bind(state) (a view of the matcher that reads and writes that state,
sharing what is retired with the worker's matcher), and saves the fields that changed in each
batch's MULTI beside the XACK (workers/evaluate.py, _Drain._persist_and_ack), as it does the
last prices. A killed evaluator so leaves the state of the last batch it acked, and the next
holder re-evaluates what is pending from exactly there. A worker keeps a stream's states and
bound matchers for its next job on the stream while no other holder has saved since
(workers/held.py): a bound matcher keeps in memory only what its state holds or what follows
from it, as a fresh bind would rebuild it. Fields are strings named by the kind
(by rule id, not position, so that a reload keeps the state of unchanged rules; or by what
several rules share, such as a move's window per series; a bound matcher may delete the fields
of rules it no longer has). Kinds without state cost nothing: no read,
no write, no call per event.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol, TypeVar, runtime_checkable

from rules.base import Rule, Series
from rules.book import PriceBook
from rules.bracket import BracketBook, BracketRule
from rules.dead_letter import DeadLetterBook, DeadLetterRule
from rules.emulated import EmulatedRule, orphaned, transition_message
from rules.feed import FeedBook, FeedRule
from rules.fill import FillBook, FillRule
from rules.lag import LagBook, LagRule
from rules.margin import MarginBook, MarginRule
from rules.move import MoveBook, MoveRule
from rules.oco import OcoBook, OcoRule
from rules.order import OrderBook, OrderRule
from rules.price import PriceRule
from rules.state import KindState
from rules.stop import StopBook, StopRule, TakeProfitBook, TakeProfitRule
from rules.trailing import TrailingBook, TrailingRule
from watcher.events import Event

TICKER = "ticker"  # the event kind of tick rows
ORDER_EVENTS = ("order", "emulated")  # what an emulated order kind reads on the private stream

__all__ = [
    "KINDS", "ORDER_EVENTS", "TICKER", "Book", "Dispatch", "EventConsumer", "EventMatcher",
    "Kind", "KindState", "Matcher", "StatefulMatcher", "TickConsumer", "TickMatcher", "Ticks",
    "empty_books", "orphan", "transition_message",
]  # fmt: skip


@runtime_checkable
class Matcher(Protocol):
    """A worker's live side of one kind's book."""

    def retire(self, position: int) -> None:
        """Stop matching a rule that can never fire again (a once-rule already claimed)."""


@runtime_checkable
class StatefulMatcher(Matcher, Protocol):
    """A matcher whose state follows the stream from worker to worker (see the module doc)."""

    def bind(self, state: KindState) -> Matcher:
        """Return this matcher evaluating one stream's events against that stream's `state`
        (it shares which rules are retired with this matcher)."""


@runtime_checkable
class EventMatcher(Matcher, Protocol):
    """A matcher of model events (fills, order updates, ...)."""

    def match(self, event: Event) -> list[int]:
        """Return, ascending, the positions of the live rules `event` fires."""


@runtime_checkable
class TickMatcher(Matcher, Protocol):
    """A matcher of tick rows: the hot path, asked once per row without building an object."""

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return, ascending, the positions of the live rules the move prev -> now at `ms`
        (the tick's exchange time, epoch ms) fires."""


R = TypeVar("R", bound=Rule)
# TickMatcher.candidates: (venue, market, source, prev, now, ms) -> positions
Candidates = Callable[[str, str, str, Decimal | None, Decimal, int], list[int]]


class Book(Protocol[R]):
    """One kind's compiled rules in load order: book[position] is a rule (pure, shared)."""

    def add(self, rule: R) -> int:
        """Append a compiled rule of this kind; return its position."""

    def __len__(self) -> int: ...

    def __getitem__(self, position: int) -> R: ...

    def __iter__(self) -> Iterator[R]: ...

    def markets(self) -> set[Series]:
        """Return the (venue, market, source) price series these rules need streamed."""

    def venues(self) -> set[str]:
        """Return the venues these rules name."""

    def matcher(self) -> Matcher:
        """Return a fresh live matcher over these rules, for one worker (nothing retired)."""


@dataclass(frozen=True)
class Kind:
    """One rule kind: its Rule class, how to make its empty book, the event kinds it reads."""

    rule: type[Rule]
    book: Callable[[], Book[Any]]
    events: tuple[str, ...]

    @property
    def name(self) -> str:
        """Return the key a rule file uses for this kind (its Rule's KIND)."""
        return self.rule.KIND


KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        kind.name: kind
        for kind in (
            Kind(PriceRule, PriceBook, (TICKER,)),
            Kind(FillRule, FillBook, ("fill",)),
            Kind(OrderRule, OrderBook, ("order",)),
            Kind(MoveRule, MoveBook, (TICKER,)),
            Kind(MarginRule, MarginBook, ("position", "account")),
            Kind(FeedRule, FeedBook, ("feed",)),
            Kind(LagRule, LagBook, ("lag",)),
            Kind(DeadLetterRule, DeadLetterBook, ("dead_letter",)),
            # Emulated orders: triggers on ticks; the updates of their real orders and their
            # own transitions on the private stream (a bracket: its entries' fills, and the
            # armings it writes to the ticker streams).
            Kind(StopRule, StopBook, (TICKER, *ORDER_EVENTS)),
            Kind(TakeProfitRule, TakeProfitBook, (TICKER, *ORDER_EVENTS)),
            Kind(TrailingRule, TrailingBook, (TICKER, *ORDER_EVENTS)),
            Kind(OcoRule, OcoBook, (TICKER, *ORDER_EVENTS)),
            Kind(BracketRule, BracketBook, (TICKER, "fill", "arming", *ORDER_EVENTS)),
        )
    }
)


def orphan(event: Event, matched: Sequence[Rule]) -> bool:
    """Return whether `event` is about an emulated order (an update of its real order, one of
    its transitions) that none of the `matched` rules owns: a reload renamed or removed its
    rule, and the workers follow it by client order id alone (workers/order_orphans.py)."""
    return orphaned(event) and not any(isinstance(rule, EmulatedRule) for rule in matched)


def empty_books() -> dict[str, Book[Any]]:
    """Return an empty book for every registered kind, by kind."""
    return {name: kind.book() for name, kind in KINDS.items()}


@dataclass(frozen=True, slots=True)
class TickConsumer:
    """A kind reading tick rows: its book and tick matcher."""

    kind: str
    book: Book[Any]
    matcher: TickMatcher


@dataclass(frozen=True, slots=True)
class EventConsumer:
    """A kind reading model events: its book and event matcher."""

    kind: str
    book: Book[Any]
    matcher: EventMatcher


def _nothing(
    venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
) -> list[int]:
    return []


def _pair(first: Candidates, start: int, second: Candidates) -> Candidates:
    """Return Ticks.candidates for two kinds, the second's positions from `start`: a closure
    costs the tick loop ~50 ns where Ticks._joint's loop over the kinds costs ~150 ns."""

    def candidates(
        venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        found = first(venue, market, source, prev, now, ms)
        more = second(venue, market, source, prev, now, ms)
        if more:  # a new list: a matcher's own is never extended
            return [*found, *[start + p for p in more]]
        return found

    return candidates


class Ticks:
    """Every kind reading tick rows, asked as one: `candidates` answers joint positions (each
    kind's book after the previous ones'), and resolve() says whose rule a position is.

    With one such kind (the usual case) `candidates` IS that kind's matcher's method: the tick
    loop pays nothing for the dispatch; with two (prices and moves), a closure over both
    methods. What it answers may be a matcher's own list: its callers only read it.
    """

    def __init__(self, consumers: Sequence[TickConsumer]) -> None:
        self._consumers = tuple(consumers)
        self._starts: list[int] = []
        total = 0
        for consumer in consumers:
            self._starts.append(total)
            total += len(consumer.book)
        # The first kind's positions are joint positions as they are; the others' are offset.
        self._first: Candidates = consumers[0].matcher.candidates if consumers else _nothing
        self._rest = tuple(
            (start, consumer.matcher.candidates)
            for start, consumer in zip(self._starts[1:], self._consumers[1:], strict=True)
        )
        self.candidates: Candidates = (
            self._first
            if len(consumers) <= 1
            else _pair(self._first, *self._rest[0])
            if len(consumers) == 2
            else self._joint
        )

    def __bool__(self) -> bool:
        return bool(self._consumers)

    def _joint(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        found = self._first(venue, market, source, prev, now, ms)
        for start, candidates in self._rest:
            positions = candidates(venue, market, source, prev, now, ms)
            if positions:  # a new list: a matcher's own is never extended
                found = [*found, *[start + p for p in positions]]
        return found

    def resolve(self, joint: int) -> tuple[str, Book[Any], int]:
        """Return the kind, book and position in that book of a joint position."""
        i = bisect_right(self._starts, joint) - 1
        consumer = self._consumers[i]
        return consumer.kind, consumer.book, joint - self._starts[i]


class Dispatch:
    """A worker's live matchers over a RuleSet's books, by the event kinds they read.

    Built once per loaded RuleSet per worker: kinds without rules are left out, so an event
    that no rule reads costs one dict lookup. A drain evaluates through bound(): the same
    matchers, the stateful kinds' bound to the stream's state (itself when no kind has state).
    """

    def __init__(
        self, books: Mapping[str, Book[Any]], matchers: Mapping[str, Matcher] | None = None
    ) -> None:
        self.books = books
        self.matchers: dict[str, Matcher] = (
            dict(matchers) if matchers is not None else {n: b.matcher() for n, b in books.items()}
        )
        ticks: list[TickConsumer] = []
        events: dict[str, list[EventConsumer]] = {}
        stateful: list[str] = []
        for name, book in books.items():
            matcher = self.matchers[name]
            if not len(book):
                continue
            if isinstance(matcher, StatefulMatcher):
                stateful.append(name)
            for event_kind in KINDS[name].events:
                if event_kind == TICKER:
                    if not isinstance(matcher, TickMatcher):
                        raise TypeError(f"{name} reads ticks: its matcher needs candidates()")
                    ticks.append(TickConsumer(name, book, matcher))
                elif isinstance(matcher, EventMatcher):
                    events.setdefault(event_kind, []).append(EventConsumer(name, book, matcher))
                else:
                    raise TypeError(f"{name} reads {event_kind} events: its matcher needs match()")
        self.ticks = Ticks(ticks)
        self.events: Mapping[str, tuple[EventConsumer, ...]] = {
            kind: tuple(found) for kind, found in events.items()
        }
        # The kinds (with rules) whose state the drain loads and saves per stream.
        self.stateful: tuple[str, ...] = tuple(stateful)

    def bound(self, states: Mapping[str, KindState]) -> Dispatch:
        """Return this dispatch with each stateful kind's matcher bound to one stream's state
        (by kind, as the drain loaded them); itself when there are none."""
        if not states:
            return self
        matchers = dict(self.matchers)
        for kind, state in states.items():
            matcher = self.matchers[kind]
            if not isinstance(matcher, StatefulMatcher):
                raise TypeError(f"{kind} keeps no state: its matcher has no bind()")
            matchers[kind] = matcher.bind(state)
        return Dispatch(self.books, matchers)

    def retire(self, kind: str, position: int) -> None:
        """Retire one rule of one kind in this worker (its once-claim is held for good)."""
        self.matchers[kind].retire(position)
