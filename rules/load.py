"""YAML rule files -> a RuleSet, or a ConfigError listing every problem as `file:line: message`.

File format (version 1):

    version: 1                     # optional
    channels:                      # name -> apprise URL, ${ENV} interpolated
      desk: "tgram://${TG_TOKEN}/${TG_CHAT}"
    rules:
      - name: btc-breakout         # unique across all files
        price: {market: BTC-USDT, crosses_up: "65000"}   # exactly one kind key
        notify: [desk]
        message: "{market} {op} {level}"                 # optional
        repeat: once               # or every, or `cooldown: 10m` instead
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml
from pydantic import SecretStr

from rules.base import NAME, NAME_RULE, Channel, Cooldown, Every, Once, Rule
from rules.duration import EXAMPLES, parse_duration
from rules.env import interpolate
from rules.fill import FillRule
from rules.kinds import KINDS
from rules.price import PriceRule
from rules.reader import FLOAT, INT, Reader, line_of
from rules.ruleset import RuleSet
from rules.template import Template, TemplateError
from watcher.errors import ConfigError

__all__ = ["RuleSet", "load_rules"]

VERSION = 1
TOP_KEYS = ("version", "channels", "rules")
RULE_KEYS = ("name", "notify", "message", "repeat", "cooldown")
REPEATS = ("once", "every")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# libyaml's composer is much faster; both give nodes with line marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Named:
    """A name declared in a file (a channel or a rule), for cross-file checks."""

    name: str
    line: int


@dataclass
class _File:
    """What one file declared, and its problems."""

    index: int
    reader: Reader
    channels: list[tuple[_Named, Channel | None]] = field(default_factory=list)
    rules: list[tuple[_Named | None, list[_Named], Rule | None]] = field(default_factory=list)


def load_rules(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> RuleSet:
    """Load rule files together; raise ConfigError with every error of every file."""
    environ: Mapping[str, str] = os.environ if env is None else env
    digest = hashlib.sha256()
    files = [_read(index, Path(path), environ, digest) for index, path in enumerate(paths)]
    errors = [(f.index, line, f.reader.path, msg) for f in files for line, msg in f.reader.errors]

    def clash(what: str, f: _File, named: _Named, first: tuple[_File, _Named]) -> None:
        other = f"{first[0].reader.path}:{first[1].line}"
        message = f"duplicate {what} name {named.name!r} (also at {other})"
        errors.append((f.index, named.line, f.reader.path, message))

    channels: dict[str, Channel] = {}
    declared: dict[str, tuple[_File, _Named]] = {}
    for f in files:
        for named, channel in f.channels:
            if named.name in declared:
                clash("channel", f, named, declared[named.name])
                continue
            declared[named.name] = (f, named)
            if channel is not None:
                channels[named.name] = channel
    known = ", ".join(sorted(declared)) or "none are defined"
    rules: list[Rule] = []
    seen: dict[str, tuple[_File, _Named]] = {}
    for f in files:
        for rule_name, notify, rule in f.rules:
            if rule_name is not None and rule_name.name in seen:
                clash("rule", f, rule_name, seen[rule_name.name])
            elif rule_name is not None:
                seen[rule_name.name] = (f, rule_name)
            for channel_ref in notify:
                if channel_ref.name not in declared:
                    message = f"notify: unknown channel {channel_ref.name!r}; channels: {known}"
                    errors.append((f.index, channel_ref.line, f.reader.path, message))
            if rule is not None:
                rules.append(rule)
    if errors:
        errors.sort(key=lambda e: (e[0], e[1]))
        lines = [f"{path}:{line}: {message}" for _, line, path, message in errors]
        raise ConfigError(f"{len(lines)} error(s) in rule files", errors=lines)
    return RuleSet(
        channels=MappingProxyType(channels),
        price_rules=tuple(r for r in rules if isinstance(r, PriceRule)),
        fill_rules=tuple(r for r in rules if isinstance(r, FillRule)),
        version=digest.hexdigest(),
    )


def _read(index: int, path: Path, env: Mapping[str, str], digest: hashlib._Hash) -> _File:
    """Read one file's channels and rules, recording its problems."""
    f = _File(index, Reader(str(path)))
    root = _compose(path, f.reader, digest)
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
    return f


def _compose(path: Path, reader: Reader, digest: hashlib._Hash) -> yaml.Node | None:
    """Return the file's single YAML document as nodes, or None after recording why not."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        reader.error(1, f"cannot read rule file: {exc.strerror or type(exc).__name__}")
        return None
    # Length-prefixed, so moving bytes from one file to the next changes the version.
    digest.update(len(data).to_bytes(8, "big"))
    digest.update(data)
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
        raw = reader.string(value, f"channels.{name}")
        channel = None
        if raw is not None:
            url, problems = interpolate(raw, env)
            for problem in problems:
                reader.error(value, f"channels.{name}: {problem}")
            if not problems and not _URL.match(url):
                # Never echo the URL: it may hold a token.
                reader.error(value, f"channels.{name}: not an apprise URL (expected scheme://...)")
            elif not problems:
                channel = Channel(name=name, url=SecretStr(url), where=reader.where(key))
        f.channels.append((_Named(name, line_of(key)), channel))


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
    cls = KINDS[present[0]] if len(present) == 1 else None
    fields = cls.parse_spec(reader, entries[present[0]][1]) if cls is not None else None
    named: _Named | None = None
    if "name" in entries:
        name = reader.string(entries["name"][1], "name", NAME, NAME_RULE)
        named = _Named(name, line_of(entries["name"][1])) if name is not None else None
    notify: list[_Named] = []
    if "notify" in entries:
        found = reader.names(entries["notify"][1], "notify", NAME, NAME_RULE) or []
        notify = [_Named(name, line_of(node)) for name, node in found]
    message = _read_message(reader, entries, cls)
    repeat = _read_repeat(reader, entries, cls)
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


def _read_message(
    reader: Reader, entries: Mapping[str, tuple[yaml.Node, yaml.Node]], cls: type[Rule] | None
) -> Template | None:
    """Compile the rule's message, or its kind's default."""
    if cls is None:
        return None
    if "message" not in entries:
        return Template(cls.DEFAULT_MESSAGE, cls.PLACEHOLDERS)
    node = entries["message"][1]
    text = reader.string(node, "message")
    if text is None:
        return None
    if not text.strip():
        reader.error(node, "message: is empty; remove it to use the default")
        return None
    try:
        return Template(text, cls.PLACEHOLDERS)
    except TemplateError as exc:
        reader.error(node, f"message: {exc}")
        return None


def _read_repeat(
    reader: Reader, entries: Mapping[str, tuple[yaml.Node, yaml.Node]], cls: type[Rule] | None
) -> Once | Every | Cooldown | None:
    """Read `repeat:` or `cooldown:` (exclusive), or return the kind's default."""
    if "cooldown" in entries:
        key, node = entries["cooldown"]
        if "repeat" in entries:
            reader.error(key, "cooldown: replaces repeat; remove `repeat` or `cooldown`")
            return None
        if node.tag in (INT, FLOAT):
            reader.error(node, f"cooldown: needs a unit ({EXAMPLES})")
            return None
        text = reader.string(node, "cooldown")
        if text is None:
            return None
        try:
            return Cooldown(seconds=parse_duration(text))
        except ValueError as exc:
            reader.error(node, f"cooldown: {exc}")
            return None
    if "repeat" in entries:
        node = entries["repeat"][1]
        value = reader.string(node, "repeat")
        if value == "cooldown":
            reader.error(node, f"repeat: write `cooldown: <duration>` instead ({EXAMPLES})")
        elif value is not None and value not in REPEATS:
            reader.error(node, f"repeat: {value!r} is not one of: {', '.join(REPEATS)}, cooldown")
        elif value is not None:
            return Once() if value == "once" else Every()
        return None
    return cls.DEFAULT_REPEAT if cls is not None else None
