"""YAML rule files -> a RuleSet, or a ConfigError listing every problem as `file:line: message`.

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
from typing import Final

import yaml
from pydantic import SecretStr

from rules.base import NAME, NAME_RULE, Channel, Cooldown, Every, Once, Rule
from rules.book import PriceBook
from rules.channel import read_channel
from rules.env import interpolate
from rules.kinds import KINDS, empty_books
from rules.options import read_message, read_repeat
from rules.price import PriceRule
from rules.reader import HIDDEN, Reader, line_of, secretish, shown
from rules.ruleset import FileStamp, RuleSet
from rules.table import TableErrors, duplicate_names, parse_table
from rules.template import Template
from watcher.errors import ConfigError
from watcher.venues import DEFAULT_VENUE

__all__ = ["RuleLoadError", "RuleSet", "load_rules"]

VERSION = 1
TOP_KEYS = ("version", "channels", "rules", "tables")
RULE_KEYS = ("name", "notify", "message", "repeat", "cooldown")
TABLE_KEYS = ("file", "notify", "message", "repeat", "cooldown")
_LAST: Final = 2**62  # sorts a table's "... and N more" after its lines
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# libyaml's composer is much faster; both give nodes with line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Named:
    """A name declared in a file (a channel or a rule), for cross-file checks."""

    name: str
    line: int


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
    """Rule files that do not load; `files` stamps every file read, to watch for a fix."""

    def __init__(self, message: str, errors: list[str], files: tuple[FileStamp, ...]) -> None:
        super().__init__(message, errors=errors)
        self.files = files


def load_rules(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    venues: Collection[str] | None = None,
) -> RuleSet:
    """Load rule files (and their tables) together; raise RuleLoadError (a ConfigError) with
    every error of every file. `venues` are the configured venues (default: DEFAULT_VENUE): a
    rule that names no venue is on the one, and an error when there are several."""
    environ: Mapping[str, str] = os.environ if env is None else env
    configured = tuple(dict.fromkeys(venues if venues is not None else (DEFAULT_VENUE,)))
    digest = hashlib.sha256()
    stamps: list[FileStamp] = []
    files = [
        _read(i, Path(path), environ, digest, stamps, configured) for i, path in enumerate(paths)
    ]
    # (file index, part: 0 the rule file, n its n-th table, line, path, message)
    errors = [
        (f.index, 0, line, f.reader.path, msg) for f in files for line, msg in f.reader.errors
    ]

    def clash(what: str, f: _File, named: _Named, other: str) -> None:
        message = f"duplicate {what} name {named.name!r} (also at {other})"
        errors.append((f.index, 0, named.line, f.reader.path, message))

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
                errors.append(
                    (f.index, 0, named.line, f.reader.path, f"{message}; channels: {known}")
                )

    def unknown(f: _File, notify: list[_Named]) -> None:
        known = ", ".join(sorted(declared)) or "none are defined"
        for ref in notify:
            if ref.name not in declared:
                message = f"notify: unknown channel {shown(ref.name)}; channels: {known}"
                errors.append((f.index, 0, ref.line, f.reader.path, message))

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
        errors += [(f.index, part, line, table.path, msg) for line, msg in found.found]
        if found.more:
            errors.append((f.index, part, _LAST, table.path, f"... and {found.more} more"))
    if errors:
        errors.sort(key=lambda e: (e[0], e[1], e[2]))
        lines = [
            f"{path}: {message}" if line == _LAST else f"{path}:{line}: {message}"
            for _, _, line, path, message in errors
        ]
        raise RuleLoadError(f"{len(lines)} error(s) in rule files", lines, tuple(stamps))
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
            found.add(book.line(position), f"duplicate rule name {name!r} (also at {where})")
        for name, (yaml_file, named) in seen.items():
            row = first_row.get(name)
            if row is None or row not in rows:
                continue  # no row of this table is the first one named so
            if yaml_file.index <= f.index:
                where = f"{yaml_file.reader.path}:{named.line}"
                found.add(book.line(row), f"duplicate rule name {name!r} (also at {where})")
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
    root = _compose(path, f.reader, digest, stamps)
    if root is None:
        return f
    top = f.reader.mapping(root, "file", TOP_KEYS)
    if top is None:
        return f
    if "version" in top:
        version = f.reader.integer(top["version"][1], "version")
        if version is not None and version != VERSION:
            f.reader.error(top["version"][1], f"version: must be {VERSION}, got {version}")
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


def _read_bytes(path: Path, stamps: list[FileStamp], digest: hashlib._Hash) -> bytes:
    """Return a file's bytes (OSError if unreadable), stamped as read and added to the digest."""
    try:
        with path.open("rb") as file:
            # Stamped before reading: a change made while reading shows as a change later.
            stamps.append(FileStamp.of(str(path), os.fstat(file.fileno())))
            data = file.read()
    except OSError:
        stamps.append(FileStamp(str(path), None, None))
        raise
    # Length-prefixed, so moving bytes from one file to the next changes the version.
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)
    return data


def _compose(
    path: Path, reader: Reader, digest: hashlib._Hash, stamps: list[FileStamp]
) -> yaml.Node | None:
    """Return the file's single YAML document as nodes, or None after recording why not."""
    try:
        data = _read_bytes(path, stamps, digest)
    except OSError as exc:
        reader.error(1, f"cannot read rule file: {exc.strerror or type(exc).__name__}")
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reader.error(data[: exc.start].count(b"\n") + 1, "not UTF-8 text")
        return None
    try:
        root: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        # Built from the parser's words only: its snippet could quote a secret from the file.
        words = "; ".join(str(w) for w in (exc.context, exc.problem) if w)
        reader.error(line, f"YAML syntax error: {words or 'unparsable'}")
        return None
    except yaml.reader.ReaderError as exc:
        char = exc.character
        code = ord(char) if isinstance(char, str) else int(char)
        line = text[: exc.position].count("\n") + 1
        reader.error(line, f"YAML error: character #x{code:04x} is not allowed in YAML")
        return None
    except yaml.YAMLError as exc:
        reader.error(1, f"YAML error: {type(exc).__name__}")
        return None
    if root is None:
        reader.error(1, "empty file: expected a mapping with `rules:` (and `channels:`)")
    return root


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
                reader.error(value, f"channels.{name}: {problem}")
            if not problems and not _URL.match(url):
                # Never echo the URL: it may hold a token.
                reader.error(value, f"channels.{name}: not an apprise URL (expected scheme://...)")
            elif not problems:
                channel = Channel(
                    name=name,
                    url=SecretStr(url),
                    where=reader.where(key),
                    rates=options.rates,
                    fallback=options.fallback,
                    digest_after=options.digest_after,
                )
        f.channels.append((_Named(name, line_of(key)), channel))


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
        notify = [_Named(name, line_of(node)) for name, node in found]
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
        reader.error(node, f"file: table {label} is not under the rule file's directory")
        return _Table(str(table), notify, None, message, repeat)
    try:
        data = _read_bytes(table, stamps, digest)
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        reader.error(node, f"file: cannot read table {label}: {why}")
        return _Table(str(table), notify, None, message, repeat)
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's byte order mark is not a column
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        reader.error(node, f"file: table {str(table)!r} is not UTF-8 text (line {line})")
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
        reader.error(item, f"rule: needs exactly one kind key: {kinds}")
    elif len(present) > 1:
        both = " and ".join(present)
        reader.error(entries[present[1]][0], f"rule: has both {both}; give exactly one of {kinds}")
    cls = KINDS[present[0]].rule if len(present) == 1 else None
    fields = cls.parse_spec(reader, entries[present[0]][1]) if cls is not None else None
    named: _Named | None = None
    if "name" in entries:
        name = reader.string(entries["name"][1], "name", NAME, NAME_RULE)
        named = _Named(name, line_of(entries["name"][1])) if name is not None else None
    notify: list[_Named] = []
    if "notify" in entries:
        found = reader.names(entries["notify"][1], "notify", NAME, NAME_RULE) or []
        notify = [_Named(name, line_of(node)) for name, node in found]
    message = read_message(reader, entries, cls)
    repeat = read_repeat(reader, entries, cls)
    if (
        len(reader.errors) > errors
        or cls is None
        or fields is None
        or named is None
        or message is None
        or repeat is None
    ):
        return named, notify, None
    rule = cls.create(
        name=named.name,
        channels=tuple(ref.name for ref in notify),
        message=message,
        repeat=repeat,
        where=reader.where(item),
        **fields,
    )
    problem = rule.repeat_problem(repeat)
    if problem:
        reader.error(entries["repeat"][1] if "repeat" in entries else item, problem)
        return named, notify, None
    return named, notify, rule
