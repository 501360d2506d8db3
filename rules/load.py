"""YAML rule files -> a RuleSet, or a RuleLoadError (a ConfigError) listing every problem as
`file:line: message` (its `problems` hold each with its column and code: rules/codes.py).

File format (version 1):

    version: 1                     # optional
    channels:                      # name -> apprise URL, ${ENV} interpolated
      desk: "tgram://${TG_TOKEN}/${TG_CHAT}"
      ops: {url: "slack://${HOOK}", rate: 1/s, fallback: desk}   # see rules/channel.py
    rules:
      - name: btc-breakout         # unique across all files
        price: {market: BTC-USDT, crosses_up: "65000"}   # exactly one kind key
        notify: [desk]
        message: "{market} {op} {level}"                 # optional
        repeat: once               # or every, or `cooldown: 10m` instead
        hold: 5s                   # options (rules/timing.py): hold, rearm, expires or for,
        quiet: "22:00-07:00 UTC"   # quiet
    tables:                        # price rules in bulk, one CSV row each (see rules/table.py)
      - file: levels.csv           # relative to this file, and under its directory
        notify: [desk]             # message, repeat / cooldown: as for a rule, shared by rows
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import SecretStr

from rules.base import NAME, NAME_RULE, Channel, Cooldown, Every, Once, Rule
from rules.book import PriceBook
from rules.channel import read_channel
from rules.codes import (
    BAD_REPEAT,
    BAD_URL,
    BAD_VERSION,
    DUPLICATE_NAME,
    ENV_VARIABLE,
    NOT_UTF8,
    ONE_OF,
    TABLE_OUTSIDE,
    UNKNOWN_CHANNEL,
    UNREADABLE,
    Code,
    Problem,
)
from rules.env import interpolate
from rules.files import compose, read_bytes, table_text
from rules.kinds import KINDS, empty_books
from rules.options import (
    OPTION_KEYS,
    check_options,
    read_message,
    read_options,
    read_repeat,
    rearms,
)
from rules.price import PriceRule
from rules.reader import HIDDEN, Reader, column_of, line_of, secretish, shown
from rules.ruleset import FileStamp, RuleSet
from rules.table import TableErrors, duplicate_names, parse_table
from rules.template import Template
from watcher import heap
from watcher.errors import ConfigError
from watcher.venues import DEFAULT_VENUE

__all__ = ["RuleLoadError", "RuleSet", "load_rules"]

VERSION = 1
TOP_KEYS = ("version", "channels", "rules", "tables")
RULE_KEYS = ("name", "notify", "message", "repeat", "cooldown", *OPTION_KEYS)
TABLE_KEYS = ("file", "notify", "message", "repeat", "cooldown")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass
class _Named:
    """A name declared in a file (a channel or a rule), for cross-file checks."""

    name: str
    line: int
    column: int

    @classmethod
    def at(cls, name: str, node: yaml.Node) -> _Named:
        """Return `name` declared at `node`."""
        return cls(name, line_of(node), column_of(node))


@dataclass
class _Table:
    """A `tables:` entry: its CSV file's text, and the settings its rows share."""

    path: str
    notify: list[_Named]
    text: str | None  # None: unreadable (an error in the rule file says why)
    message: Template | None
    repeat: Once | Every | Cooldown | None


@dataclass
class _File:
    """What one file declared, and its problems."""

    index: int
    reader: Reader
    channels: list[tuple[_Named, Channel | None]] = field(default_factory=list)
    rules: list[tuple[_Named | None, list[_Named], Rule | None]] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)


class RuleLoadError(ConfigError):
    """Rule files that do not load: `problems` each with its place and code, `errors` their
    `file:line: message` texts; `files` stamps every file read, to watch for a fix."""

    def __init__(self, message: str, problems: list[Problem], files: tuple[FileStamp, ...]) -> None:
        super().__init__(message, errors=[problem.text() for problem in problems])
        self.problems = problems
        self.files = files


def load_rules(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    venues: Collection[str] | None = None,
) -> RuleSet:
    """Load rule files (and their tables) together; raise RuleLoadError (a ConfigError) with
    every error of every file. `venues` are the configured venues (default: DEFAULT_VENUE): a
    rule that names no venue is on the one, and an error when there are several. The cyclic
    collector is paused meanwhile (watcher/heap.py: most of a load's time went to it)."""
    with heap.paused():
        return _load(paths, env, venues)


def _load(
    paths: Sequence[Path], env: Mapping[str, str] | None, venues: Collection[str] | None
) -> RuleSet:
    environ: Mapping[str, str] = os.environ if env is None else env
    configured = tuple(dict.fromkeys(venues if venues is not None else (DEFAULT_VENUE,)))
    digest = hashlib.sha256()
    stamps: list[FileStamp] = []
    files = [
        _read(i, Path(path), environ, digest, stamps, configured) for i, path in enumerate(paths)
    ]
    # (file index, part: 0 the rule file, n its n-th table, problem)
    errors = [(f.index, 0, problem) for f in files for problem in f.reader.errors]

    def add(f: _File, named: _Named, code: Code, message: str) -> None:
        problem = Problem(f.reader.path, named.line, named.column, code, message)
        errors.append((f.index, 0, problem))

    def clash(what: str, f: _File, named: _Named, other: str) -> None:
        add(f, named, DUPLICATE_NAME, f"duplicate {what} name {named.name!r} (also at {other})")

    channels: dict[str, Channel] = {}
    declared: dict[str, str] = {}
    for f in files:
        for named, channel in f.channels:
            if named.name in declared:
                clash("channel", f, named, declared[named.name])
                continue
            declared[named.name] = f"{f.reader.path}:{named.line}"
            if channel is not None:
                channels[named.name] = channel

    for f in files:
        for named, channel in f.channels:
            if channel is not None and channel.fallback and channel.fallback not in declared:
                known = ", ".join(sorted(declared))
                message = f"channels.{named.name}.fallback: unknown channel {channel.fallback!r}"
                add(f, named, UNKNOWN_CHANNEL, f"{message}; channels: {known}")

    def unknown(f: _File, notify: list[_Named]) -> None:
        known = ", ".join(sorted(declared)) or "none are defined"
        for ref in notify:
            if ref.name not in declared:
                message = f"notify: unknown channel {shown(ref.name)}; channels: {known}"
                add(f, ref, UNKNOWN_CHANNEL, message)

    books = empty_books()
    book = books[PriceRule.KIND]  # tables hold price rules
    if not isinstance(book, PriceBook):
        raise TypeError(f"the {PriceRule.KIND} kind's book is not a PriceBook")
    seen: dict[str, tuple[_File, _Named]] = {}
    tables: list[tuple[_File, int, _Table, TableErrors, range]] = []  # range: book positions
    for f in files:
        for rule_name, notify, rule in f.rules:
            if rule_name is not None and rule_name.name in seen:
                first = seen[rule_name.name]
                clash("rule", f, rule_name, f"{first[0].reader.path}:{first[1].line}")
            elif rule_name is not None:
                seen[rule_name.name] = (f, rule_name)
            unknown(f, notify)
            if rule is not None:
                books[rule.KIND].add(rule)
        for part, table in enumerate(f.tables, 1):
            unknown(f, table.notify)
            found = TableErrors()
            start = len(book)
            if table.text is not None:
                group = None
                if table.message is not None and table.repeat is not None:
                    channels_of = tuple(ref.name for ref in table.notify)
                    group = book.group(channels_of, table.message, table.repeat, table.path)
                parse_table(table.text, book, group, table.repeat, found, configured)
                table.text = None  # parsed: let the memory go
            tables.append((f, part, table, found, range(start, len(book))))
    _table_duplicates(book, tables, seen, clash)
    for f, part, table, found, _ in tables:
        if found.found or found.more:
            text = table_text(table.path)  # read again, only to find the bad cells' columns
            errors += [(f.index, part, problem) for problem in found.problems(table.path, text)]
    if errors:
        # A table's "... and N more" (no line) after its lines.
        errors.sort(key=lambda e: (e[0], e[1], e[2].line is None, e[2].line or 0))
        problems = [problem for _, _, problem in errors]
        raise RuleLoadError(f"{len(problems)} error(s) in rule files", problems, tuple(stamps))
    return RuleSet(
        channels=MappingProxyType(channels),
        books=MappingProxyType(books),
        version=digest.hexdigest(),
        files=tuple(stamps),
    )


def _table_duplicates(
    book: PriceBook,
    tables: list[tuple[_File, int, _Table, TableErrors, range]],
    seen: Mapping[str, tuple[_File, _Named]],
    clash: Callable[[str, _File, _Named, str], None],
) -> None:
    """Record every table row named as a row or rule file rule before it, and every rule file
    rule named as a row of an earlier file's table."""
    # Compared once all rows are in: a million names held while parsing would leave the rules'
    # few long-lived objects scattered over a much larger heap (memory the OS never gets back).
    first_row: dict[str, int] = {}
    for f, _, _, found, rows in tables:
        for position in duplicate_names(book, rows.start, rows.stop, first_row):
            name = book.name(position)
            other = seen.get(name)
            where = (
                f"{other[0].reader.path}:{other[1].line}"
                if other is not None and other[0].index <= f.index
                else book.where(first_row[name])
            )
            message = f"duplicate rule name {name!r} (also at {where})"
            found.add(book.line(position), message, DUPLICATE_NAME, found.name_field)
        for name, (yaml_file, named) in seen.items():
            row = first_row.get(name)
            if row is None or row not in rows:
                continue  # no row of this table is the first one named so
            if yaml_file.index <= f.index:
                where = f"{yaml_file.reader.path}:{named.line}"
                message = f"duplicate rule name {name!r} (also at {where})"
                found.add(book.line(row), message, DUPLICATE_NAME, found.name_field)
            else:
                clash("rule", yaml_file, named, book.where(row))


def _read(
    index: int,
    path: Path,
    env: Mapping[str, str],
    digest: hashlib._Hash,
    stamps: list[FileStamp],
    venues: Sequence[str],
) -> _File:
    """Read one file's channels, rules and tables, recording its problems."""
    f = _File(index, Reader(str(path), venues))
    root = compose(path, f.reader, digest, stamps)
    if root is None:
        return f
    top = f.reader.mapping(root, "file", TOP_KEYS)
    if top is None:
        return f
    if "version" in top:
        version = f.reader.integer(top["version"][1], "version")
        if version is not None and version != VERSION:
            message = f"version: must be {VERSION}, got {version}"
            f.reader.error(top["version"][1], message, BAD_VERSION)
    if "channels" in top:
        _read_channels(f, top["channels"][1], env)
    if "rules" in top:
        for item in f.reader.sequence(top["rules"][1], "rules") or ():
            f.rules.append(_read_rule(f.reader, item))
    if "tables" in top:
        for item in f.reader.sequence(top["tables"][1], "tables") or ():
            table = _read_table(f.reader, path, item, digest, stamps)
            if table is not None:
                f.tables.append(table)
    return f


def _read_channels(f: _File, node: yaml.Node, env: Mapping[str, str]) -> None:
    """Read `channels:`; a channel whose URL can't be built is declared but has no value."""
    reader = f.reader
    for key, value in (reader.mapping(node, "channels", None) or {}).values():
        name = reader.string(key, "channel name", NAME, NAME_RULE)
        if name is None:
            continue
        raw, options = read_channel(reader, value, name, NAME, NAME_RULE)
        channel = None
        if raw is not None:
            url, problems = interpolate(raw, env)
            for problem in problems:
                reader.error(value, f"channels.{name}: {problem}", ENV_VARIABLE)
            if not problems and not _URL.match(url):
                # Never echo the URL: it may hold a token.
                message = f"channels.{name}: not an apprise URL (expected scheme://...)"
                reader.error(value, message, BAD_URL)
            elif not problems:
                channel = Channel(
                    name=name,
                    url=SecretStr(url),
                    where=reader.where(key),
                    column=column_of(key),
                    rates=options.rates,
                    fallback=options.fallback,
                    digest_after=options.digest_after,
                )
        f.channels.append((_Named.at(name, key), channel))


def _read_table(
    reader: Reader, path: Path, item: yaml.Node, digest: hashlib._Hash, stamps: list[FileStamp]
) -> _Table | None:
    """Read one `tables:` entry and its CSV file's text (parsed once every file is read)."""
    entries = reader.mapping(item, "table", TABLE_KEYS, ("file", "notify"))
    if entries is None:
        return None
    notify: list[_Named] = []
    if "notify" in entries:
        found = reader.names(entries["notify"][1], "notify", NAME, NAME_RULE) or []
        notify = [_Named.at(name, node) for name, node in found]
    message = read_message(reader, entries, PriceRule)
    repeat = read_repeat(reader, entries, PriceRule)
    if "file" not in entries:
        return None
    node = entries["file"][1]
    name = reader.string(node, "file")
    if name is None:
        return None
    table = path.parent / name  # relative to the rule file
    label = HIDDEN if secretish(name) else repr(str(table))
    if not _under(table, path.parent):  # /proc/self/environ, ../.env: never read, never shown
        outside = f"file: table {label} is not under the rule file's directory"
        reader.error(node, outside, TABLE_OUTSIDE)
        return _Table(str(table), notify, None, message, repeat)
    try:
        data = read_bytes(table, stamps, digest)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        reader.error(node, f"file: cannot read table {label}: {why}", UNREADABLE)
        return _Table(str(table), notify, None, message, repeat)
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte order mark is not a column
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        reader.error(node, f"file: table {str(table)!r} is not UTF-8 text (line {line})", NOT_UTF8)
        return _Table(str(table), notify, None, message, repeat)
    return _Table(str(table), notify, text, message, repeat)


def _under(path: Path, folder: Path) -> bool:
    """Whether `path`, symbolic links followed, lies inside `folder`."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a link loop
        return False


def _read_rule(reader: Reader, item: yaml.Node) -> tuple[_Named | None, list[_Named], Rule | None]:
    """Read one rule; it compiles only when all of it is valid."""
    errors = len(reader.errors)
    entries = reader.mapping(item, "rule", (*RULE_KEYS, *KINDS), ("name", "notify"))
    if entries is None:
        return None, [], None
    present = [key for key in KINDS if key in entries]
    kinds = ", ".join(KINDS)
    if not present:
        reader.error(item, f"rule: needs exactly one kind key: {kinds}", ONE_OF)
    elif len(present) > 1:
        both = " and ".join(present)
        problem = f"rule: has both {both}; give exactly one of {kinds}"
        reader.error(entries[present[1]][0], problem, ONE_OF)
    cls = KINDS[present[0]].rule if len(present) == 1 else None
    fields = cls.parse_spec(reader, entries[present[0]][1]) if cls is not None else None
    named: _Named | None = None
    if "name" in entries:
        name = reader.string(entries["name"][1], "name", NAME, NAME_RULE)
        named = _Named.at(name, entries["name"][1]) if name is not None else None
    notify: list[_Named] = []
    if "notify" in entries:
        found = reader.names(entries["notify"][1], "notify", NAME, NAME_RULE) or []
        notify = [_Named.at(name, node) for name, node in found]
    message = read_message(reader, entries, cls)
    repeat = read_repeat(reader, entries, cls, fields)
    options = read_options(reader, entries)
    if (
        len(reader.errors) > errors
        or cls is None
        or fields is None
        or named is None
        or message is None
        or repeat is None
        or options is None
    ):
        return named, notify, None
    rule = cls.create(
        name=named.name,
        channels=tuple(ref.name for ref in notify),
        message=message,
        # Once per arming: each firing claims its own event, and the rule's gate disarms it.
        repeat=Every() if options.rearm is not None and rearms(entries, repeat) else repeat,
        where=reader.where(item),
        options=options,
        **fields,
    )
    check_options(reader, entries, rule, repeat)
    problem = "" if options.rearm is not None else rule.repeat_problem(repeat)
    if problem:
        said = entries.get("repeat") or entries.get("cooldown")
        reader.error(said[1] if said is not None else item, problem, BAD_REPEAT)
    if len(reader.errors) > errors:
        return named, notify, None
    return named, notify, rule
