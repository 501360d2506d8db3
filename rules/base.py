"""What every rule kind shares: identity, channels, message, repeat policy, origin."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from rules.actions import Action, Notify
from rules.channel import Rate
from rules.reader import MARKET as MARKET
from rules.reader import MARKET_RULE as MARKET_RULE
from rules.reader import Reader
from rules.template import Template
from rules.timing import NO_OPTIONS, Options
from watcher.events import Event

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
NAME_RULE = "lower-case letters, digits, '_' and '-', starting with a letter or digit, at most 64"
VENUE = re.compile(r"[a-z][a-z0-9_]{0,31}")
VENUE_RULE = "a lower-case venue name such as okx"
ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
ACCOUNT_RULE = "an account name without spaces"

Series = tuple[str, str, str]  # a price series: (venue, market, source)
V = TypeVar("V")


def first_by_market(by_series: Mapping[Series, V]) -> dict[str, tuple[str, str, V]]:
    """Return each market's first series, (venue, source, value), by the market's name alone.
    A tick's matcher looks its market up there before it builds a (venue, market, source)
    tuple: a lookup by one string costs less than one by a new tuple, and a market is mostly
    watched in one series (any other is then found by the whole series)."""
    first: dict[str, tuple[str, str, V]] = {}
    for (venue, market, source), value in by_series.items():
        first.setdefault(market, (venue, source, value))
    return first


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Once(_Frozen):
    """Fire once per arming: the rule re-arms only when its definition changes."""

    kind: Literal["once"] = "once"


class Every(_Frozen):
    """Fire for every matching event (each event at most once)."""

    kind: Literal["every"] = "every"


class Cooldown(_Frozen):
    """Fire, then stay quiet for `seconds` before the rule may fire again."""

    kind: Literal["cooldown"] = "cooldown"
    seconds: float = Field(gt=0)


Repeat = Annotated[Once | Every | Cooldown, Field(discriminator="kind")]


class Channel(_Frozen):
    """A named notification destination; the apprise URL is a secret.

    `rates` empty means the scheme's default limits; `fallback` names the channel that gets
    this one's messages when it is dead; `digest_after` None means the default. `where` is
    "path:line" of its name, `column` that name's column (for klaxon check's JSON).
    """

    name: str
    url: SecretStr
    where: str
    column: int | None = None
    rates: tuple[Rate, ...] = ()
    fallback: str | None = None
    digest_after: int | None = None


class Rule(_Frozen):
    """A compiled rule: its kind's fields plus identity, destinations, message and repeat."""

    KIND: ClassVar[str] = ""
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset()
    DEFAULT_MESSAGE: ClassVar[str] = ""
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Once()

    id: str
    name: str
    channels: tuple[str, ...]
    message: Template
    repeat: Repeat
    where: str
    options: Options = NO_OPTIONS

    @classmethod
    def create(
        cls,
        *,
        name: str,
        channels: tuple[str, ...],
        message: Template,
        repeat: Once | Every | Cooldown,
        where: str,
        **fields: Any,
    ) -> Self:
        """Build the rule with its id derived from its canonical definition (`options`, if
        given among the fields, are the rule's Options)."""
        options: Options = fields.pop("options", NO_OPTIONS)
        # Canonical with defaults filled in, so spelling out a default or respelling a number
        # (65000 vs "65000.0") keeps the id, while any change of meaning gives a new one.
        own = {key: _canonical(fields.get(key, default)) for key, default in _own(cls).items()}
        definition = {
            "kind": cls.KIND,
            "name": name,
            "channels": sorted(channels),
            "message": message.text,
            "repeat": repeat.model_dump(),
            "fields": own,
        }
        if not options.is_default():  # so a rule without options keeps the id it always had
            definition["options"] = options.model_dump(mode="json", exclude_defaults=True)
        blob = json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()
        return cls(
            id=f"{name}-{hashlib.sha256(blob).hexdigest()[:12]}",
            name=name,
            channels=channels,
            message=message,
            repeat=repeat,
            where=where,
            options=options,
            **fields,
        )

    @classmethod
    def default_repeat(cls, fields: Mapping[str, Any]) -> Once | Every | Cooldown:
        """Return the repeat policy of a rule that gives none (its kind's, or by its fields)."""
        return cls.DEFAULT_REPEAT

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read the kind's own mapping (`price: {...}`) into model fields, or None on errors."""
        raise NotImplementedError

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """Say why `repeat` makes no sense for this rule ("" when it does)."""
        return ""

    def option_problem(self, option: str) -> str:
        """Say why an option (hold, rearm) makes no sense for this rule ("" when it does);
        expires, for and quiet apply to every rule. Kinds with a lasting condition override."""
        if option in ("hold", "rearm"):
            return f"{self.KIND} rules fire on single events: there is no level to {option}"
        return ""

    def render(self, values: Mapping[str, str]) -> str:
        """Return this rule's message for the values of one firing (see the kind's fields())."""
        return self.message.render(values)

    def venues(self) -> frozenset[str]:
        """Return the venues this rule names (kinds with a venue field override it)."""
        return frozenset()

    def actions(self) -> tuple[Action, ...]:
        """Return what a firing of this rule does once its claim is won: notify each channel."""
        quiet = self.options.quiet
        return tuple(Notify(channel, quiet) for channel in self.channels)

    def tick_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Return what a firing by this tick row does (a kind whose actions depend on the price
        overrides it; by default, actions())."""
        return self.actions()

    def event_actions(self, event: Event) -> tuple[Action, ...]:
        """Return what a firing by this model event does (by default, actions())."""
        return self.actions()

    # A kind that reads model events (its Kind lists event kinds other than "ticker") overrides
    # matches() and render_event(), and subject() if `repeat: every` must dedupe by event id;
    # a kind that reads tick rows overrides render_tick().

    def matches(self, event: Event) -> bool:
        """Return whether `event` fires this rule (kinds of model events override it)."""
        raise NotImplementedError(f"{self.KIND} rules are not matched against model events")

    def concerns(self, event: Event) -> bool:
        """Return whether `event` is about what this rule watches (its hold or rearm is decided
        on such events only); kinds with a lasting condition override it."""
        return self.matches(event)

    def rearmed_by(self, event: Event) -> bool:
        """Return whether `event` re-arms this rule (its value back beyond the level by the
        rule's `rearm` distance); kinds that can re-arm override it."""
        return False

    def subject(self, event: Event) -> str | None:
        """Return what an every-rule's claim on `event` is about (None: the stream entry)."""
        return None

    def render_event(self, event: Event) -> str:
        """Return this rule's message for a model event that fired it."""
        raise NotImplementedError(f"{self.KIND} rules are not fired by model events")

    def render_tick(self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str) -> str:
        """Return this rule's message for a tick row that fired it (bid/ask: exact text)."""
        raise NotImplementedError(f"{self.KIND} rules are not fired by ticks")


_BASE = frozenset(Rule.model_fields)


@cache
def _own(cls: type[Rule]) -> dict[str, Any]:
    """Return a kind's own fields with their defaults (computed once: pydantic's lookup is slow)."""
    return {key: info.get_default() for key, info in cls.model_fields.items() if key not in _BASE}


_PLAIN = frozenset((str, int, float, bool, tuple))


def _canonical(value: object) -> object:
    """Return a JSON-able form that doesn't change when a number is merely respelled."""
    if isinstance(value, Decimal):
        # Without Decimal.normalize(): it rounds to the context's 28 digits, and a level is
        # allowed more (rules.reader bounds it: 18 digits before the point, 30 after).
        digits = format(value, "f")
        return digits.rstrip("0").rstrip(".") if "." in digits else digits
    if value is None or type(value) in _PLAIN:
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):  # an order's limits
        return {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def text(value: Decimal | None) -> str:
    """Return a Decimal's digits as written, never in exponent form ("" when absent)."""
    return "" if value is None else format(value, "f")


def utc_text(at: datetime) -> str:
    """Return an aware time as ISO 8601 UTC with milliseconds, e.g. 2024-05-01T12:00:00.123Z."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
