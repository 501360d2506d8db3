"""The columnar store of every price rule: compact columns per rule, a PriceRule on demand.

A million PriceRule models would take ~1.5 KB each. Here a rule is its name and exact level text
(in shared byte blobs), small integers for its price series, operator, group and line, and its
level as a float for the index: about 50 bytes. What many rules share (channels, message,
repeat, file) is one Group. `book[i]` builds the PriceRule through PriceRule.create, as the YAML
loader does, so a rule's id is the same whether it was written in YAML or in a table.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate, chain
from typing import TYPE_CHECKING, overload

from rules.base import Cooldown, Every, Once, Series
from rules.price import OPS, PriceRule
from rules.template import Template
from rules.timing import NO_OPTIONS, Options

if TYPE_CHECKING:
    from rules.index import PriceIndex

OP_CODES: dict[str, int] = {op: code for code, op in enumerate(OPS)}
# Rules built on demand and kept: the ones firing now (cooldown and every rules fire again) and
# identity for callers that look a rule up twice. Bounded: a table may hold millions.
CACHED_RULES = 4096


@dataclass(frozen=True, slots=True)
class Group:
    """What a set of rules shares: channels, message, repeat policy, the file of their lines
    and their options (rules/timing.py: a YAML rule with options has a group of its own)."""

    channels: tuple[str, ...]
    message: Template
    repeat: Once | Every | Cooldown
    path: str
    options: Options = NO_OPTIONS


class _Texts:
    """Many short strings in one UTF-8 blob plus one end offset each."""

    __slots__ = ("blob", "ends")

    def __init__(self) -> None:
        self.blob = bytearray()
        self.ends = array("q")

    def append(self, text: str) -> None:
        self.blob += text.encode()
        self.ends.append(len(self.blob))

    def extend(self, texts: list[str]) -> None:
        joined = "".join(texts)
        data = joined.encode()
        if len(data) != len(joined):  # not ASCII: byte offsets differ from string lengths
            for text in texts:
                self.append(text)
            return
        ends = accumulate(map(len, texts), initial=len(self.blob))
        next(ends)  # the initial value: where the first new text starts
        self.ends.extend(ends)
        self.blob += data

    def __getitem__(self, i: int) -> str:
        start = self.ends[i - 1] if i else 0
        return self.blob[start : self.ends[i]].decode()

    def slice(self, start: int, stop: int) -> list[str]:
        if start >= stop:
            return []
        first, last = self.ends[start - 1] if start else 0, self.ends[stop - 1]
        text = self.blob[first:last].decode()
        if len(text) != last - first:  # not ASCII: byte offsets differ from string offsets
            return [self[i] for i in range(start, stop)]
        ends = self.ends[start:stop]
        return [
            text[a - first : b - first]
            for a, b in zip(chain((first,), ends[:-1]), ends, strict=True)
        ]


class PriceBook(Sequence[PriceRule]):
    """Every price rule of a RuleSet as columns; `book[i]` is the i-th rule as a PriceRule.

    The index reads `keys`, `ops`, `series_of` and `series` directly, and level() for ties.
    """

    def __init__(self) -> None:
        self._names = _Texts()
        self._levels = _Texts()  # exact level text: Decimal(text) is the rule's level
        self.keys = array("d")  # float(level), for the index's bisection
        self.ops = bytearray()  # index into OPS
        self.series_of = array("I")  # index into self.series
        self._groups_of = array("I")
        self._lines = array("I")  # 0: the group's path is the whole `where`
        self.series: list[Series] = []
        self._series_ids: dict[Series, int] = {}
        self.groups: list[Group] = []
        self._group_ids: dict[Group, int] = {}
        self._rules: dict[int, PriceRule] = {}
        self._building = threading.Lock()  # workers may evaluate in several threads

    @classmethod
    def of(cls, rules: Iterable[PriceRule]) -> PriceBook:
        """Return a book holding `rules`, in order."""
        book = cls()
        for rule in rules:
            book.add(rule)
        return book

    def group(
        self,
        channels: tuple[str, ...],
        message: Template,
        repeat: Once | Every | Cooldown,
        path: str,
        options: Options = NO_OPTIONS,
    ) -> int:
        """Return the id of the group with these shared settings, adding it if new."""
        group = Group(channels, message, repeat, path, options)
        found = self._group_ids.get(group)
        if found is None:
            found = self._group_ids[group] = len(self.groups)
            self.groups.append(group)
        return found

    def series_id(self, venue: str, market: str, source: str) -> int:
        """Return the id of a (venue, market, source) series, adding it if new.

        markets() lists every series registered: register one only for a rule being added.
        """
        key = (venue, market, source)
        found = self._series_ids.get(key)
        if found is None:
            found = self._series_ids[key] = len(self.series)
            self.series.append(key)
        return found

    def append(
        self, name: str, series: int, op: int, level: str, key: float, group: int, line: int
    ) -> int:
        """Add a rule from already checked columns; return its position.

        `level` is the exact decimal text, `key` its float; `line` is the rule's line in its
        group's file (0 when the group's path alone says where the rule is).
        """
        self._names.append(name)
        self._levels.append(level)
        self.keys.append(key)
        self.ops.append(op)
        self.series_of.append(series)
        self._groups_of.append(group)
        self._lines.append(line)
        return len(self.ops) - 1

    def extend(
        self,
        names: list[str],
        levels: list[str],
        keys: array[float],
        ops: bytearray,
        series: array[int],
        group: int,
        lines: array[int],
    ) -> None:
        """Add rules from already checked columns of equal length, all of one group."""
        self._names.extend(names)
        self._levels.extend(levels)
        self.keys.extend(keys)
        self.ops.extend(ops)
        self.series_of.extend(series)
        self._groups_of.extend(array("I", [group]) * len(lines))
        self._lines.extend(lines)

    def add(self, rule: PriceRule) -> int:
        """Add a compiled rule's columns; return its position (book[position] == rule)."""
        path, _, line = rule.where.rpartition(":")
        if not (path and line.isdigit() and line[0] != "0" and int(line) < 2**32):
            path, line = rule.where, "0"
        group = self.group(rule.channels, rule.message, rule.repeat, path, rule.options)
        series = self.series_id(rule.venue, rule.market, rule.source)
        return self.append(
            rule.name, series, OP_CODES[rule.op], str(rule.level), float(rule.level), group,
            int(line),
        )  # fmt: skip

    def __len__(self) -> int:
        return len(self.ops)

    @overload
    def __getitem__(self, i: int) -> PriceRule: ...

    @overload
    def __getitem__(self, i: slice) -> list[PriceRule]: ...

    def __getitem__(self, i: int | slice) -> PriceRule | list[PriceRule]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("price rule position out of range")
        rule = self._rules.get(i)
        if rule is None:
            with self._building:
                rule = self._rules.get(i)
                if rule is None:
                    rule = self._build(i)
                    if len(self._rules) >= CACHED_RULES:
                        del self._rules[next(iter(self._rules))]  # the oldest
                    self._rules[i] = rule
        return rule

    def __iter__(self) -> Iterator[PriceRule]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PriceBook):
            return NotImplemented
        mine, theirs = self._columns(), other._columns()
        return mine == theirs and self.series == other.series and self.groups == other.groups

    __hash__ = None  # type: ignore[assignment]

    def _columns(self) -> tuple[object, ...]:
        return (
            self._names.blob, self._names.ends, self._levels.blob, self._levels.ends, self.ops,
            self.series_of, self._groups_of, self._lines,
        )  # fmt: skip

    def _build(self, i: int) -> PriceRule:
        group = self.groups[self._groups_of[i]]
        venue, market, source = self.series[self.series_of[i]]
        return PriceRule.create(
            name=self._names[i],
            channels=group.channels,
            message=group.message,
            repeat=group.repeat,
            where=self.where(i),
            options=group.options,
            venue=venue,
            market=market,
            source=source,
            op=OPS[self.ops[i]],
            level=self.level(i),
        )

    def name(self, i: int) -> str:
        """Return the name of the rule at position i."""
        return self._names[i]

    def names(self, start: int, stop: int) -> list[str]:
        """Return the names of the rules at positions [start, stop)."""
        return self._names.slice(start, stop)

    def line(self, i: int) -> int:
        """Return the line of the rule at position i in its group's file (0: no line)."""
        return self._lines[i]

    def level(self, i: int) -> Decimal:
        """Return the exact level of the rule at position i."""
        return Decimal(self._levels[i])

    def where(self, i: int) -> str:
        """Return "file:line" of the rule at position i."""
        line = self._lines[i]
        path = self.groups[self._groups_of[i]].path
        return f"{path}:{line}" if line else path

    def repeat(self, i: int) -> Once | Every | Cooldown:
        """Return the repeat policy of the rule at position i."""
        return self.groups[self._groups_of[i]].repeat

    def gated(self) -> list[int]:
        """Return the positions of the rules whose firing depends on their options."""
        groups = [group.options.gated for group in self.groups]
        if not any(groups):
            return []
        return [i for i, g in enumerate(self._groups_of) if groups[g]]

    def markets(self) -> set[Series]:
        """Return the (venue, market, source) series the rules use."""
        return set(self.series)

    def venues(self) -> set[str]:
        """Return the venues the rules use (without building a rule)."""
        return {venue for venue, _, _ in self.series}

    def matcher(self) -> PriceIndex:
        """Return a fresh index over these rules for one worker (nothing retired): a
        GatedPriceIndex, keeping state per stream, when some rule has options."""
        from rules.index import GatedPriceIndex, PriceIndex  # built from a book: imported late

        gated = self.gated()
        return GatedPriceIndex(self, gated) if gated else PriceIndex(self)
