"""Price rules: fire when a market's price is above/below a level or crosses it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

import yaml

from rules.base import (
    MARKET,
    MARKET_RULE,
    VENUE,
    VENUE_RULE,
    Cooldown,
    Every,
    Once,
    Rule,
    text,
    utc_text,
)
from rules.codes import BAD_SOURCE, ONE_OF
from rules.reader import Entry, Reader
from watcher.events import PRICE_SOURCES, PriceSource, utc_from_ms
from watcher.venues import source_problem

Op = Literal["above", "below", "crosses_up", "crosses_down"]
OPS: tuple[Op, ...] = ("above", "below", "crosses_up", "crosses_down")
# Each source is a series of its own: bid and ask are the best bid and ask as prices.
SOURCES: tuple[PriceSource, ...] = PRICE_SOURCES
# What {op} renders as, so a message reads "BTC-USDT crossed above 65000".
OP_TEXT: dict[str, str] = {
    "above": "above",
    "below": "below",
    "crosses_up": "crossed above",
    "crosses_down": "crossed below",
}


class PriceRule(Rule):
    """Fire when the price of (venue, market, source) is above, below or crosses `level`."""

    KIND: ClassVar[str] = "price"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        ("rule", "venue", "market", "source", "price", "prev", "level", "op", "bid", "ask", "time")
    )
    DEFAULT_MESSAGE: ClassVar[str] = "[{rule}] {market} {op} {level}: {source} {price} on {venue}"
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Once()

    venue: str  # the loader fills in the configured venue when the file names none
    market: str
    source: PriceSource = "last"
    op: Op
    level: Decimal

    def check(self, prev: Decimal | None, now: Decimal) -> bool:
        """Return whether the move from `prev` (None: no previous price) to `now` fires."""
        level = self.level
        if self.op == "above":
            return now > level
        if self.op == "below":
            return now < level
        if prev is None:
            return False
        if self.op == "crosses_up":
            return prev < level <= now
        return prev > level >= now

    def holds(self, now: Decimal) -> bool:
        """Return whether a hold started by check() still holds at `now`: the price is still
        beyond the level (at it, for a crossing)."""
        level = self.level
        if self.op == "above":
            return now > level
        if self.op == "below":
            return now < level
        return now >= level if self.op == "crosses_up" else now <= level

    def rearmed(self, now: Decimal) -> bool:
        """Return whether the price went back beyond the level by the rule's `rearm` distance
        (below level - distance for above and crosses_up, above level + distance otherwise)."""
        rearm = self.options.rearm
        if rearm is None:
            return False
        distance = rearm.distance(self.level)
        if self.op in ("above", "crosses_up"):
            return now <= self.level - distance
        return now >= self.level + distance

    def option_problem(self, option: str) -> str:
        """Every option applies to a price rule."""
        return ""

    def fields(
        self,
        *,
        price: Decimal,
        prev: Decimal | None,
        at: datetime,
        bid: Decimal | None = None,
        ask: Decimal | None = None,
    ) -> dict[str, str]:
        """Return every placeholder's value for one firing (absent values are "")."""
        return {
            "rule": self.name,
            "venue": self.venue,
            "market": self.market,
            "source": self.source,
            "price": text(price),
            "prev": text(prev),
            "level": text(self.level),
            "op": OP_TEXT[self.op],
            "bid": text(bid),
            "ask": text(ask),
            "time": utc_text(at),
        }

    def venues(self) -> frozenset[str]:
        """Return the venue whose prices this rule watches."""
        return frozenset((self.venue,))

    def render_tick(self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str) -> str:
        """Return the message for a tick row: its exchange's exact bid/ask text ("" absent)."""
        values = self.fields(price=now, prev=prev, at=utc_from_ms(ms))
        values["bid"], values["ask"] = bid, ask
        return self.render(values)

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """Refuse `repeat: every` on above/below: it would fire on every single tick."""
        return repeat_problem(self.op, repeat)

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `price: {market, venue?, source?, <op>: level}`."""
        entries = reader.mapping(node, "price", ("venue", "market", "source", *OPS), ("market",))
        if entries is None:
            return None
        ops = [key for key in OPS if key in entries]
        if len(ops) != 1:
            problem = "has both " + " and ".join(ops) + "; " if ops else ""
            reader.error(
                entries[ops[1]][0] if ops else node,
                f"price: {problem}give exactly one of {', '.join(OPS)}",
                ONE_OF,
            )
        errors = len(reader.errors)
        fields = read_series(reader, node, entries, "price")
        for op in ops:
            fields["op"] = op
            fields["level"] = reader.decimal(entries[op][1], f"price.{op}", positive=True)
        if len(reader.errors) > errors or len(ops) != 1 or "market" not in entries:
            return None
        return fields


def read_series(
    reader: Reader, node: yaml.Node, entries: dict[str, Entry], kind: str
) -> dict[str, Any]:
    """Read a price series' venue (the configured one when not given), market and source
    (last when not given) from `kind: {...}`; a source the venue does not stream is an error."""
    fields: dict[str, Any] = {}
    if "venue" in entries:
        fields["venue"] = reader.string(entries["venue"][1], f"{kind}.venue", VENUE, VENUE_RULE)
    else:
        fields["venue"] = reader.default_venue(node, kind)
    if "market" in entries:
        fields["market"] = read_market(reader, entries["market"][1], kind, fields["venue"])
    if "source" in entries:
        read_source(reader, entries["source"][1], kind, fields)
    return fields


def read_market(reader: Reader, node: yaml.Node, kind: str, venue: str | None) -> str | None:
    """Read `kind.market`: one the venue lists (any valid name when the venue is unknown)."""
    if venue is not None:
        return reader.market(node, f"{kind}.market", venue)
    return reader.string(node, f"{kind}.market", MARKET, MARKET_RULE)


def read_source(reader: Reader, node: yaml.Node, kind: str, fields: dict[str, Any]) -> None:
    """Read `source:` at `node` into fields["source"]; a source the rule's venue does not
    stream for its market (both read before, into `fields`) is an error at `node`."""
    fields["source"] = source = reader.choice(node, f"{kind}.source", SOURCES)
    venue, market = fields.get("venue"), fields.get("market")
    problem = source_problem(venue, market, source) if venue and market and source else ""
    if problem:
        reader.error(node, f"{kind}.source: {problem}", BAD_SOURCE)


def repeat_problem(op: str, repeat: Once | Every | Cooldown) -> str:
    """Say why `repeat` makes no sense for a price rule with operator `op` ("" when it does)."""
    if isinstance(repeat, Every) and op in ("above", "below"):
        return f"repeat: every would fire on every tick while {op}; use cooldown"
    return ""
