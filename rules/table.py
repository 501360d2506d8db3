"""Rule tables: many price rules in one CSV file, sharing their `tables:` entry's settings.

    name,market,op,level,venue,source
    btc-65k,BTC-USDT,crosses_up,65000,okx,last
    eth-3k,ETH-USDT,below,3000.5,,

A header row names the columns, in any order: name, market, op and level are required; venue
(default: the configured venue, when exactly one is) and source (default last) are optional, and
an empty cell takes the default. Each
row is checked as a YAML price rule is (the market spelled as its venue spells markets, the
level a bounded decimal greater than zero), straight into the PriceBook's columns (no model per
row): a million rows load in seconds. Every bad row is an error at its line, and at the column
of its bad cell.
"""

from __future__ import annotations

import csv
import io
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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
from rules.codes import (
    BAD_FORMAT,
    BAD_MARKET,
    BAD_NUMBER,
    BAD_REPEAT,
    BAD_SOURCE,
    BAD_VALUE,
    CSV_SYNTAX,
    MORE_ERRORS,
    NO_VENUE,
    NOT_A_CHOICE,
    OUT_OF_RANGE,
    TABLE_HEADER,
    TABLE_ROW,
    Code,
    Problem,
)
from rules.price import OPS, SOURCES, PriceRule, repeat_problem
from rules.reader import (  # shown: never a URL or token, shortened
    HIDDEN,
    MAX_INTEGER_DIGITS,
    MAX_PLACES,
    decimal_problem,
    missing_venue,
    secretish,
    shown,
)
from watcher.venues import market_problem, source_problem

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

REQUIRED = ("name", "market", "op", "level")
OPTIONAL = ("venue", "source")
SOURCE_DEFAULT: str = PriceRule.model_fields["source"].default
MAX_ERRORS = 100  # per table: a wrong column or a pasted file must not print a million lines
# Plain decimal text, as Decimal and float read it alike: no NaN, Infinity or "_" separators.
LEVEL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_LEVEL_MAX = float(10**MAX_INTEGER_DIGITS)
CHUNK = 4096  # rows handed to the book at a time
_LEVEL_CACHE = 65536  # distinct level texts remembered while parsing (levels repeat a lot)


@dataclass
class TableErrors:
    """A table's problems as (line, field, code, message), the first MAX_ERRORS, and how many
    more. `field` is the index of the bad cell in its row (-1: the row as a whole); columns
    are found from the text once, when the problems are reported (see problems())."""

    found: list[tuple[int, int, Code, str]] = field(default_factory=list)
    more: int = 0
    name_field: int = -1  # the name column's index, once the header is read

    def add(self, line: int, message: str, code: Code = BAD_VALUE, field: int = -1) -> None:
        """Record a problem at a line of the table (and at a cell of it)."""
        if len(self.found) < MAX_ERRORS:
            self.found.append((line, field, code, message))
        else:
            self.more += 1

    def problems(self, path: str, text: str | None) -> list[Problem]:
        """Return the problems located in the table's `text` (None: columns unknown)."""
        lines = _lines(text, {line for line, field, _, _ in self.found if field >= 0})
        found = [
            Problem(path, line, _column(lines.get(line), field), code, message)
            for line, field, code, message in self.found
        ]
        if self.more:
            found.append(Problem(path, None, None, MORE_ERRORS, f"... and {self.more} more"))
        return found


def _lines(text: str | None, wanted: set[int]) -> dict[int, str]:
    """Return the wanted lines of `text` by number (1-based): a scan, never a split."""
    found: dict[int, str] = {}
    if text is None or not wanted:
        return found
    last, start = max(wanted), 0
    for number in range(1, last + 1):
        end = text.find("\n", start)
        if number in wanted:
            found[number] = text[start : len(text) if end < 0 else end].rstrip("\r")
        if end < 0:
            break
        start = end + 1
    return found


def _column(line: str | None, field: int) -> int | None:
    """Return the 1-based column where cell `field` of a CSV line starts (1 for the whole row;
    None when the line is unknown or has no such cell)."""
    if field < 0:
        return 1
    if line is None:
        return None
    quoted, cell = False, 0
    for i, char in enumerate(line):
        if cell == field:
            return i + 1
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            cell += 1
    return len(line) + 1 if cell == field else None


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
        errors.add(
            reader.line_num, f"header: no venue column, and {missing_venue(venues)}", NO_VENUE
        )
        return
    width = len(columns)
    name_at, market_at, op_at, level_at = (columns.index(c) for c in REQUIRED)
    errors.name_field = name_at
    venue_at = columns.index("venue") if "venue" in columns else -1
    source_at = columns.index("source") if "source" in columns else -1
    # The common case in local names; `checks` sees each distinct cell value once.
    checks = _Checks(book, repeat, errors, venues, columns)
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
                        message = f"expected {width} fields ({fields}), got {len(row)}"
                        errors.add(reader.line_num, message, TABLE_ROW)
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
                    message = f"name: {shown(name)} is not valid: {NAME_RULE}"
                    errors.add(line, message, BAD_FORMAT, name_at)
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
            errors.add(reader.line_num, f"CSV error: {exc}", CSV_SYNTAX)
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
        errors.add(reader.line_num, f"CSV error: {exc}", CSV_SYNTAX)
        return None
    allowed = (*REQUIRED, *OPTIONAL)
    if header is None:
        errors.add(
            1, f"empty table: expected a header row such as {','.join(REQUIRED)}", TABLE_HEADER
        )
        return None
    line = reader.line_num
    ok = True
    for i, column in enumerate(header):
        if column not in allowed:
            message = f"header: unknown column {shown(column)}; allowed: {', '.join(allowed)}"
            errors.add(line, message, TABLE_HEADER, i)
            ok = False
        elif column in header[:i]:
            errors.add(line, f"header: column {column!r} appears twice", TABLE_HEADER, i)
            ok = False
    for column in REQUIRED:
        if column not in header:
            errors.add(line, f"header: missing required column {column!r}", TABLE_HEADER)
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
        columns: Sequence[str],
    ) -> None:
        self.book = book
        self.errors = errors
        self.venues = venues
        self.field = {column: i for i, column in enumerate(columns)}
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

    def add(self, line: int, column: str, message: str, code: Code) -> None:
        """Record a problem with one cell of a row (its column named, -1 when it has none)."""
        self.errors.add(line, message, code, self.field.get(column, -1))

    def series(self, line: int, venue: str, market: str, source: str) -> int:
        """Return the series id of a row's cells, or -1 after recording what is wrong."""
        checks: list[tuple[str, str, Callable[[str], object], str, Code]] = [
            ("venue", venue, VENUE.fullmatch, f"is not valid: {VENUE_RULE}", BAD_FORMAT),
            ("market", market, MARKET.fullmatch, f"is not valid: {MARKET_RULE}", BAD_FORMAT),
            ("source", source, SOURCES.__contains__, f"is not one of: {', '.join(SOURCES)}",
             NOT_A_CHOICE),
        ]  # fmt: skip
        ok = True
        if not venue:  # an empty cell where no single venue is configured
            self.add(line, "venue", f"venue: empty, and {missing_venue(self.venues)}", NO_VENUE)
            ok = False
            checks = checks[1:]
        for column, value, check, problem, code in checks:
            if not check(value):
                self.add(line, column, f"{column}: {shown(value)} {problem}", code)
                ok = False
        if ok and venue:
            spelling = market_problem(venue, market)
            if spelling and secretish(market):  # the venue's words would quote it
                message = f"market: {HIDDEN} is not a market name on {venue}"
                self.add(line, "market", message, BAD_MARKET)
                ok = False
            elif spelling:
                self.add(line, "market", f"market: {spelling}", BAD_MARKET)
                ok = False
        problem = source_problem(venue, market, source) if ok else ""
        if problem:
            self.add(line, "source", f"source: {problem}", BAD_SOURCE)
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
        if problem:
            self.add(line, "op", problem, BAD_REPEAT)
        else:
            self.add(line, "op", f"op: {shown(text)} is not one of: {', '.join(OPS)}", NOT_A_CHOICE)
        return -1

    def key(self, line: int, text: str) -> float | None:
        """Return a row's level as a float, or None after recording what is wrong with it: not
        a decimal, or out of the bounds of a YAML rule's level (rules.reader.decimal_problem:
        greater than zero, bounded in size and decimal places)."""
        if LEVEL.fullmatch(text) is None:
            self.add(line, "level", f"level: {shown(text)} is not a decimal number", BAD_NUMBER)
            return None
        key = float(text)
        dot = text.find(".")
        if not (0.0 < key < _LEVEL_MAX and "e" not in text and "E" not in text) or (
            dot >= 0 and len(text) - dot - 1 > MAX_PLACES
        ):
            # Not plainly within bounds: the exact check (an exponent may still be in them).
            problem = decimal_problem(Decimal(text), positive=True)
            if problem:
                self.add(line, "level", f"level: {shown(text)} {problem}", OUT_OF_RANGE)
                return None
        if len(self.keys) >= _LEVEL_CACHE:
            self.keys.clear()
        self.keys[text] = key
        return key
