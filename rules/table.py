"""Rule tables: many price rules in one CSV file, sharing their `tables:` entry's settings.

    name,market,op,level,venue,source
    btc-65k,BTC-USDT,crosses_up,65000,okx,last
    eth-3k,ETH-USDT,below,3000.5,,

A header row names the columns, in any order: name, market, op and level are required; venue
(default: the configured venue, when exactly one is) and source (default last) are optional, and
an empty cell takes the default. Each
row is checked as a YAML price rule is, straight into the PriceBook's columns (no model per
row): a million rows load in seconds. Every bad row is an error at its line.
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rules.base import (
    MARKET,
    MARKET_RULE,
    NAME,
    NAME_RULE,
    VENUE,
    VENUE_RULE,
    Cooldown,
    Every,
    Once,
)
from rules.book import OP_CODES, PriceBook
from rules.price import OPS, SOURCES, PriceRule, repeat_problem
from rules.reader import missing_venue, shown  # shown: never a URL or token, shortened

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

REQUIRED = ("name", "market", "op", "level")
OPTIONAL = ("venue", "source")
SOURCE_DEFAULT: str = PriceRule.model_fields["source"].default
MAX_ERRORS = 100  # per table: a wrong column or a pasted file must not print a million lines
# Plain decimal text, as Decimal and float read it alike: no NaN, Infinity or "_" separators.
LEVEL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
CHUNK = 4096  # rows handed to the book at a time
_LEVEL_CACHE = 65536  # distinct level texts remembered while parsing (levels repeat a lot)


@dataclass
class TableErrors:
    """A table's problems as (line, message): the first MAX_ERRORS, and how many more."""

    found: list[tuple[int, str]] = field(default_factory=list)
    more: int = 0

    def add(self, line: int, message: str) -> None:
        """Record a problem at a line of the table."""
        if len(self.found) < MAX_ERRORS:
            self.found.append((line, message))
        else:
            self.more += 1


def parse_table(
    text: str,
    book: PriceBook,
    group: int | None,
    repeat: Once | Every | Cooldown | None,
    errors: TableErrors,
    venues: Sequence[str],
) -> None:
    """Append the good rows of one table to `book` in `group`; record each bad row in `errors`.

    With `group` None (the table's settings are wrong) rows are only checked. Names are checked
    for their form here; for duplicates, once every rule is known (see duplicate_names). A row
    without a venue is on the configured venue, when exactly one of `venues` is.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, skipinitialspace=True)
    columns = _header(reader, errors)
    if columns is None:
        return
    venue_default = venues[0] if len(venues) == 1 else ""
    if not venue_default and "venue" not in columns:
        errors.add(reader.line_num, f"header: no venue column, and {missing_venue(venues)}")
        return
    width = len(columns)
    name_at, market_at, op_at, level_at = (columns.index(c) for c in REQUIRED)
    venue_at = columns.index("venue") if "venue" in columns else -1
    source_at = columns.index("source") if "source" in columns else -1
    # The common case in local names; `checks` sees each distinct cell value once.
    checks = _Checks(book, repeat, errors, venues)
    series_ids, op_codes, keys = checks.series_ids, checks.op_codes, checks.keys
    name_ok = NAME.fullmatch
    chunk = _Chunk(book, group)
    names, levels, float_keys = chunk.names.append, chunk.levels.append, chunk.keys.append
    ops, series_of, lines = chunk.ops.append, chunk.series.append, chunk.lines.append
    failed_at = 0
    while True:  # a CSV error spoils a row, not the table: go on with the next one
        try:
            for row in reader:
                if len(row) != width:
                    if row:  # blank lines are skipped
                        fields = ",".join(columns)
                        errors.add(
                            reader.line_num, f"expected {width} fields ({fields}), got {len(row)}"
                        )
                    continue
                line = reader.line_num
                venue = (row[venue_at] or venue_default) if venue_at >= 0 else venue_default
                source = (row[source_at] or SOURCE_DEFAULT) if source_at >= 0 else SOURCE_DEFAULT
                series = series_ids.get((venue, row[market_at], source))
                if series is None:
                    series = checks.series(line, venue, row[market_at], source)
                op = op_codes.get(row[op_at])
                if op is None:
                    op = checks.op(line, row[op_at])
                level = row[level_at]
                key = keys.get(level)
                if key is None:
                    key = checks.key(line, level)
                name = row[name_at]
                if name_ok(name) is None:
                    errors.add(line, f"name: {shown(name)} is not valid: {NAME_RULE}")
                elif series >= 0 and op >= 0 and key is not None:
                    names(name)
                    levels(level)
                    float_keys(key)
                    ops(op)
                    series_of(series)
                    lines(line)
                    if len(chunk.lines) >= CHUNK:
                        chunk.flush()
            chunk.flush()
            return
        except csv.Error as exc:
            errors.add(reader.line_num, f"CSV error: {exc}")
            if reader.line_num == failed_at:
                return  # a guard: the reader moves past a bad line, or we would loop
            failed_at = reader.line_num


class _Chunk:
    """Rows waiting to be added to the book: a few thousand, so their strings stay few."""

    def __init__(self, book: PriceBook, group: int | None) -> None:
        self.book = book
        self.group = group
        self.names: list[str] = []
        self.levels: list[str] = []
        self.keys = array("d")
        self.ops = bytearray()
        self.series = array("I")
        self.lines = array("I")

    def flush(self) -> None:
        """Add the rows to the book (unless the table's settings are wrong), and forget them."""
        if self.group is not None and self.lines:
            self.book.extend(
                self.names, self.levels, self.keys, self.ops, self.series, self.group, self.lines
            )
        self.names.clear()
        self.levels.clear()
        del self.keys[:], self.ops[:], self.series[:], self.lines[:]


def duplicate_names(book: PriceBook, start: int, stop: int, first: dict[str, int]) -> Iterator[int]:
    """Yield the positions in [start, stop) whose name an earlier position (or one of these)
    already has; `first` (name -> first position) gains the new names."""
    for position, name in enumerate(book.names(start, stop), start):
        if first.setdefault(name, position) != position:
            yield position


def _header(reader: CsvReader, errors: TableErrors) -> list[str] | None:
    """Return the header's column names, or None after recording why they are unusable."""
    try:
        header = next((row for row in reader if row), None)
    except csv.Error as exc:
        errors.add(reader.line_num, f"CSV error: {exc}")
        return None
    allowed = (*REQUIRED, *OPTIONAL)
    if header is None:
        errors.add(1, f"empty table: expected a header row such as {','.join(REQUIRED)}")
        return None
    line = reader.line_num
    ok = True
    for i, column in enumerate(header):
        if column not in allowed:
            errors.add(
                line, f"header: unknown column {shown(column)}; allowed: {', '.join(allowed)}"
            )
            ok = False
        elif column in header[:i]:
            errors.add(line, f"header: column {column!r} appears twice")
            ok = False
    for column in REQUIRED:
        if column not in header:
            errors.add(line, f"header: missing required column {column!r}")
            ok = False
    return header if ok else None


class _Checks:
    """Checks of the cells whose values repeat across rows; each distinct value checked once."""

    def __init__(
        self,
        book: PriceBook,
        repeat: Once | Every | Cooldown | None,
        errors: TableErrors,
        venues: Sequence[str],
    ) -> None:
        self.book = book
        self.errors = errors
        self.venues = venues
        self.series_ids: dict[tuple[str, str, str], int] = {}
        self.keys: dict[str, float] = {}
        self.op_codes: dict[str, int] = {}
        self.op_problems: dict[str, str] = {}
        for op in OPS:
            problem = repeat_problem(op, repeat) if repeat is not None else ""
            if problem:
                self.op_problems[op] = problem
            else:
                self.op_codes[op] = OP_CODES[op]

    def series(self, line: int, venue: str, market: str, source: str) -> int:
        """Return the series id of a row's cells, or -1 after recording what is wrong."""
        checks: list[tuple[str, str, Callable[[str], object], str]] = [
            ("venue", venue, VENUE.fullmatch, f"is not valid: {VENUE_RULE}"),
            ("market", market, MARKET.fullmatch, f"is not valid: {MARKET_RULE}"),
            ("source", source, SOURCES.__contains__, f"is not one of: {', '.join(SOURCES)}"),
        ]
        ok = True
        if not venue:  # an empty cell where no single venue is configured
            self.errors.add(line, f"venue: empty, and {missing_venue(self.venues)}")
            ok = False
            checks = checks[1:]
        for column, value, check, problem in checks:
            if not check(value):
                self.errors.add(line, f"{column}: {shown(value)} {problem}")
                ok = False
        if not ok:
            return -1
        found = self.series_ids[(venue, market, source)] = self.book.series_id(
            venue, market, source
        )
        return found

    def op(self, line: int, text: str) -> int:
        """Record what is wrong with a row's operator; return -1."""
        problem = self.op_problems.get(text)
        self.errors.add(line, problem or f"op: {shown(text)} is not one of: {', '.join(OPS)}")
        return -1

    def key(self, line: int, text: str) -> float | None:
        """Return a row's level as a float, or None after recording that it is no decimal."""
        if LEVEL.fullmatch(text) is None:
            self.errors.add(line, f"level: {shown(text)} is not a decimal number")
            return None
        if len(self.keys) >= _LEVEL_CACHE:
            self.keys.clear()
        found = self.keys[text] = float(text)
        return found
