"""Move rules: fire when a price moved by at least X % (or an amount) within a window.

    move: {market: BTC-USDT, by: "3%", window: 5m, direction: up}

Computed from the stream, not polled: per price series and window the matcher (a MoveIndex,
rules/move_index.py) keeps the window's lowest and highest price. Up: the price is at least
`by` above the window's low; down: at least `by` below its high; either: one of the two (the
larger is reported). A percentage is of that low (or high).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml

from rules.base import Cooldown, Every, Once, Rule, Series, text, utc_text

if TYPE_CHECKING:
    from rules.move_index import MoveIndex
from rules.codes import OUT_OF_RANGE
from rules.duration import duration_text
from rules.price import read_series
from rules.reader import STR, Reader
from rules.scan import ScanBook
from watcher.events import PriceSource, utc_from_ms

Direction = Literal["up", "down", "either"]
DIRECTIONS: tuple[Direction, ...] = ("up", "down", "either")
MAX_WINDOW_SECONDS = 86_400
MAX_PERCENT = Decimal(1000)
HUNDRED = Decimal(100)
INF, NEG_INF = Decimal("Infinity"), Decimal("-Infinity")
KEYS = ("venue", "market", "source", "by", "window", "direction")
# The reference price and direction of each rule's last firing on this thread, for its
# message: the evaluator renders a firing as soon as the matcher returns it (see render_tick).
_MOMENTS = threading.local()


class MoveRule(Rule):
    """Fire when the price of (venue, market, source) moved by `by` within `window` ms."""

    KIND: ClassVar[str] = "move"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "market", "source", "price", "prev", "from", "change", "pct",
            "direction", "by", "window", "bid", "ask", "time",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = (
        "[{rule}] {market} {direction} {pct}% in {window}: {from} -> {price} on {venue}"
    )
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Cooldown(seconds=300)

    venue: str
    market: str
    source: PriceSource = "last"
    by: Decimal
    percent: bool
    window: int  # ms
    direction: Direction = "either"

    def moved(self, low: Decimal, high: Decimal, now: Decimal) -> tuple[str, Decimal] | None:
        """Return (direction, reference price) when `now` moved by `by` from the window's low
        (up) or high (down), None otherwise; for either, the larger move."""
        up = self._measure(now - low, low) if self.direction != "down" else None
        down = self._measure(high - now, high) if self.direction != "up" else None
        if up is not None and up >= self.by and (down is None or down <= up):
            return "up", low
        if down is not None and down >= self.by:
            return "down", high
        return None

    def _measure(self, change: Decimal, reference: Decimal) -> Decimal:
        if not self.percent:
            return change
        return change * HUNDRED / reference if reference > 0 else Decimal(0)

    def venues(self) -> frozenset[str]:
        """Return the venue whose prices this rule watches."""
        return frozenset((self.venue,))

    @classmethod
    def default_repeat(cls, fields: Mapping[str, Any]) -> Once | Every | Cooldown:
        """Quiet for one window after a firing: the same move is not reported twice."""
        window = fields.get("window")
        return Cooldown(seconds=window / 1000) if isinstance(window, int) else cls.DEFAULT_REPEAT

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """Refuse `repeat: every`: it would fire on every tick while the move lasts."""
        if isinstance(repeat, Every):
            return "repeat: every would fire on every tick while moved; use cooldown"
        return ""

    def option_problem(self, option: str) -> str:
        """Refuse rearm (a move has no level; its cooldown spaces firings)."""
        if option == "rearm":
            return "move rules have no level to re-arm at; a cooldown spaces their firings"
        return ""

    def render_tick(self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str) -> str:
        """Return the message for the tick that fired it (its move as the matcher saw it)."""
        seen: dict[str, tuple[str, Decimal]] = getattr(_MOMENTS, "seen", {})
        direction, reference = seen.get(self.id, ("", None))
        change = now - reference if reference is not None else None
        pct = change * HUNDRED / reference if change is not None and reference else None
        values = {
            "rule": self.name,
            "venue": self.venue,
            "market": self.market,
            "source": self.source,
            "price": text(now),
            "prev": text(prev),
            "from": text(reference),
            "change": text(change),
            "pct": text(pct.quantize(Decimal("0.01"))) if pct is not None else "",
            "direction": direction,
            "by": text(self.by) + ("%" if self.percent else ""),
            "window": duration_text(self.window // 1000),
            "bid": bid,
            "ask": ask,
            "time": utc_text(utc_from_ms(ms)),
        }
        return self.render(values)

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `move: {market, venue?, source?, by: "3%" | 500, window: 5m, direction?}`."""
        entries = reader.mapping(node, "move", KEYS, ("market", "by", "window"))
        if entries is None:
            return None
        errors = len(reader.errors)
        fields = read_series(reader, node, entries, "move")
        if "by" in entries:
            by = _read_by(reader, entries["by"][1])
            if by is not None:
                fields["by"], fields["percent"] = by
        if "window" in entries:
            window = entries["window"][1]
            seconds = reader.duration(window, "move.window", at_most=MAX_WINDOW_SECONDS)
            fields["window"] = None if seconds is None else int(seconds * 1000)
        if "direction" in entries:
            node = entries["direction"][1]
            fields["direction"] = reader.choice(node, "move.direction", DIRECTIONS)
        if len(reader.errors) > errors or not {"market", "by", "window"} <= entries.keys():
            return None
        return fields


def _read_by(reader: Reader, node: yaml.Node) -> tuple[Decimal, bool] | None:
    """Read `by:` as a percentage ("3%") or an amount in the price's units (500)."""
    percent = isinstance(node, yaml.ScalarNode) and node.tag == STR and node.value.endswith("%")
    if percent:
        node = yaml.ScalarNode(STR, node.value[:-1].strip(), node.start_mark, node.end_mark)
    value = reader.decimal(node, "move.by", positive=True)
    if value is None:
        return None
    if percent and value > MAX_PERCENT:
        reader.error(node, f"move.by: a percentage of at most {MAX_PERCENT}%", OUT_OF_RANGE)
        return None
    return value, percent


class MoveBook(ScanBook[MoveRule]):
    """Every move rule of a RuleSet; its matcher is a MoveIndex."""

    def markets(self) -> set[Series]:
        """Return the price series these rules need streamed."""
        return {(rule.venue, rule.market, rule.source) for rule in self}

    def matcher(self) -> MoveIndex:  # type: ignore[override]
        """Return a fresh MoveIndex over these rules (nothing retired, empty windows)."""
        from rules.move_index import MoveIndex  # the index is built from the rules: late

        return MoveIndex(tuple(self))


def moments() -> dict[str, tuple[str, Decimal]]:
    """Return this thread's record of each rule's last firing (direction, reference): the
    matcher notes it, render_tick reads it."""
    seen: dict[str, tuple[str, Decimal]] | None = getattr(_MOMENTS, "seen", None)
    if seen is None:
        seen = _MOMENTS.seen = {}
    return seen
