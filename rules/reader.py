"""Typed reads from one rule file's YAML nodes, recording every problem with its line.

Values are read from the composed node tree (not from constructed Python objects) so each value
keeps its line and each number keeps its exact YAML text: a Decimal never passes through float.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation

import yaml
from yaml.constructor import SafeConstructor

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE = (
    _TAG + t for t in ("str", "int", "float", "bool", "null", "merge")
)

_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_SHOWN = 40  # characters of a value quoted in an error message
# A run of token characters long enough to be a key or a bot token (checked for letters and
# digits both): names and markets are shorter, or words without digits.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_:+/=.-]{24,}")
HIDDEN = "(a value like a URL or a token: not shown)"

Entry = tuple[yaml.Node, yaml.Node]  # (key node, value node)


def line_of(node: yaml.Node) -> int:
    """Return the 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


def describe(node: yaml.Node) -> str:
    """Name a node's YAML type for an error message (never its value)."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {STR: "a string", INT: "a number", FLOAT: "a number", BOOL: "true/false"}.get(
        node.tag, "nothing" if node.tag == NULL else "a tagged value"
    )


def missing_venue(venues: Sequence[str]) -> str:
    """Say why a rule that names no venue gets none: no venue, or several, are configured."""
    if not venues:
        return "no venue is configured"
    return f"{len(venues)} venues are configured ({', '.join(venues)}): name one"


def secretish(value: str) -> bool:
    """Whether a value looks like a URL, an address or a token: errors never quote those."""
    if "://" in value or "@" in value:
        return True
    return any(
        any(c.isdigit() for c in run) and any(c.isalpha() for c in run)
        for run in _TOKEN_RUN.findall(value)
    )


def shown(value: str) -> str:
    """Quote a value for an error message: shortened when long, and never a URL or a token."""
    if secretish(value):
        return HIDDEN
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "...")


class Reader:
    """Reads typed values out of one file's nodes; `errors` collects (line, message).

    `venues` are the configured venues: a rule that names none is on the one, if there is one.
    """

    def __init__(self, path: str, venues: Sequence[str] = ()) -> None:
        self.path = path
        self.errors: list[tuple[int, str]] = []
        self.venues = tuple(venues)

    def default_venue(self, node: yaml.Node, what: str) -> str | None:
        """Return the venue of a rule that names none, or None after recording why there is none."""
        if len(self.venues) == 1:
            return self.venues[0]
        self.error(node, f"{what}: no venue given, and {missing_venue(self.venues)}")
        return None

    def where(self, node: yaml.Node) -> str:
        """Return "path:line" of a node."""
        return f"{self.path}:{line_of(node)}"

    def error(self, at: yaml.Node | int, message: str) -> None:
        """Record a problem at a node (or a line number)."""
        self.errors.append((at if isinstance(at, int) else line_of(at), message))

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        allowed: Collection[str] | None,
        required: Collection[str] = (),
    ) -> dict[str, Entry] | None:
        """Return a mapping's entries by key; unknown (unless allowed is None), duplicate and
        missing keys are errors."""
        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what}: expected a mapping, got {describe(node)}")
            return None
        entries: dict[str, Entry] = {}
        choices = ", ".join(sorted(allowed or ()))
        for key, value in node.value:
            if key.tag == MERGE:
                self.error(key, f"{what}: YAML merge keys (<<) are not supported")
            elif not isinstance(key, yaml.ScalarNode) or key.tag != STR:
                self.error(key, f"{what}: keys must be strings, got {describe(key)}")
            elif key.value in entries:
                first = line_of(entries[key.value][0])
                self.error(key, f"{what}: duplicate key {shown(key.value)} (first at line {first})")
            elif allowed is not None and key.value not in allowed:
                self.error(key, f"{what}: unknown key {shown(key.value)}; allowed: {choices}")
            else:
                entries[key.value] = (key, value)
        for name in sorted(set(required) - entries.keys()):
            self.error(node, f"{what}: missing required key {name!r}")
        return entries

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        """Return a list's items."""
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what}: expected a list, got {describe(node)}")
            return None
        return list(node.value)

    def string(
        self, node: yaml.Node, what: str, pattern: re.Pattern[str] | None = None, rule: str = ""
    ) -> str | None:
        """Return a string scalar, optionally matching `pattern` (described by `rule`)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            hint = " (quote it)" if node.tag in (INT, FLOAT, BOOL, NULL) else ""
            self.error(node, f"{what}: expected a string, got {describe(node)}{hint}")
            return None
        value = str(node.value)
        if pattern is not None and not pattern.fullmatch(value):
            self.error(node, f"{what}: {shown(value)} is not valid: {rule}")
            return None
        return value

    def choice(self, node: yaml.Node, what: str, options: Sequence[str]) -> str | None:
        """Return a string that must be one of `options`."""
        value = self.string(node, what)
        if value is not None and value not in options:
            self.error(node, f"{what}: {shown(value)} is not one of: {', '.join(options)}")
            return None
        return value

    def decimal(self, node: yaml.Node, what: str) -> Decimal | None:
        """Return a finite Decimal from a number or a string, built from the scalar's text."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, INT, FLOAT):
            self.error(node, f"{what}: expected a decimal number, got {describe(node)}")
            return None
        raw = str(node.value).strip()
        if node.tag == INT and _LEADING_ZERO.fullmatch(raw):
            self.error(node, f"{what}: {shown(raw)} has a leading zero (YAML reads it as octal)")
            return None
        try:
            if node.tag == INT and not raw.lstrip("+-").replace("_", "").isdigit():
                # 0x1F, 0b101, 1:30: YAML 1.1 integer spellings; the int is exact, so use it.
                value = Decimal(SafeConstructor().construct_yaml_int(node))
            else:
                value = Decimal(raw)
        except (InvalidOperation, ValueError):
            self.error(node, f"{what}: {shown(raw)} is not a decimal number")
            return None
        if not value.is_finite():
            self.error(node, f"{what}: {shown(raw)} is not a finite number")
            return None
        return value

    def integer(self, node: yaml.Node, what: str) -> int | None:
        """Return a plain integer scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT:
            self.error(node, f"{what}: expected an integer, got {describe(node)}")
            return None
        try:
            return int(str(node.value).replace("_", ""))
        except ValueError:
            self.error(node, f"{what}: {shown(str(node.value))} is not a plain integer")
            return None

    def names(
        self, node: yaml.Node, what: str, pattern: re.Pattern[str], rule: str
    ) -> list[tuple[str, yaml.Node]] | None:
        """Return one or more names, written as a single string or a non-empty list."""
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, what)
        if items is None:
            return None
        if not items:
            self.error(node, f"{what}: needs at least one name")
            return None
        found: list[tuple[str, yaml.Node]] = []
        seen: set[str] = set()
        for item in items:
            name = self.string(item, what, pattern, rule)
            if name is not None and name in seen:
                self.error(item, f"{what}: {shown(name)} is listed twice")
            elif name is not None:
                seen.add(name)
                found.append((name, item))
        return found if len(found) == len(items) else None
