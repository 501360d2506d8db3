"""Typed reads from one rule file's YAML nodes, recording every problem where it is.

Values are read from the composed node tree (not from constructed Python objects) so each value
keeps its line and each number keeps its exact YAML text: a Decimal never passes through float.

Problems: every check reports through `Reader.error(node, message, code)`. The node gives the
line and column (1-based, from its YAML mark); `code` is a stable rules.codes.Code, BAD_VALUE
when left out. The typed reads below (mapping, sequence, string, choice, decimal, integer,
names, market, duration, default_venue) record their own problems with their own codes, so a
kind that reads its spec with them gets codes, lines and columns with nothing more to do; a
kind's own check passes the code that fits, e.g.

    reader.error(entries["window"][1], "move.window: longer than 24h", OUT_OF_RANGE)

`klaxon check` prints `file:line: message`; `klaxon check --format json` prints each Problem
with its file, line, column, code and message. A message never holds a secret value.
Bounds: decimals are below 10**MAX_INTEGER_DIGITS with at most MAX_PLACES decimal places (a
price level of 1e999999999 is an error, not a billion-digit string); durations are bounded by
rules.duration (MAX_SECONDS unless the option says less); a market is checked against its
venue's own spelling (watcher.venues.market_problem), which suggests the right one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from decimal import Decimal, InvalidOperation

import yaml
from yaml.constructor import SafeConstructor

from rules.codes import (
    BAD_DURATION,
    BAD_FORMAT,
    BAD_MARKET,
    BAD_NUMBER,
    BAD_VALUE,
    DUPLICATE_KEY,
    EMPTY_LIST,
    LISTED_TWICE,
    MERGE_KEY,
    MISSING_KEY,
    NO_VENUE,
    NOT_A_CHOICE,
    OUT_OF_RANGE,
    UNKNOWN_KEY,
    WRONG_TYPE,
    Code,
    Problem,
)
from rules.duration import EXAMPLES, MAX_SECONDS, parse_duration
from watcher.venues import market_problem

_TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, MERGE = (
    _TAG + t for t in ("str", "int", "float", "bool", "null", "merge")
)

_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
MARKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}")
MARKET_RULE = "the market as the venue spells it, such as BTC-USDT"
MAX_INTEGER_DIGITS = 18  # a decimal is below 10**18 in size ...
MAX_PLACES = 30  # ... with at most 30 decimal places (a wei has 18)
_SHOWN = 40  # characters of a value quoted in an error message
# A run of token characters long enough to be a key or a bot token (checked for letters and
# digits both): names and markets are shorter, or words without digits.
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_:+/=.-]{24,}")
HIDDEN = "(a value like a URL or a token: not shown)"
_DURATION_CHARS = frozenset(" 0123456789dhms")

Entry = tuple[yaml.Node, yaml.Node]  # (key node, value node)


def line_of(node: yaml.Node) -> int:
    """Return the 1-based line where a node starts."""
    return int(node.start_mark.line) + 1


def column_of(node: yaml.Node) -> int:
    """Return the 1-based column where a node starts."""
    return int(node.start_mark.column) + 1


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


def decimal_problem(value: Decimal, positive: bool = False) -> str:
    """Say why a finite Decimal is out of bounds ("" when it is within them)."""
    if positive and value <= 0:
        return "must be greater than zero"
    if value and value.adjusted() >= MAX_INTEGER_DIGITS:
        return f"is too large (at most {MAX_INTEGER_DIGITS} digits before the point)"
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return "is not a finite number"
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if value and exponent + zeros < -MAX_PLACES:
        return f"has more than {MAX_PLACES} decimal places"
    return ""


class Reader:
    """Reads typed values out of one file's nodes; `errors` collects its Problems.

    `venues` are the configured venues: a rule that names none is on the one, if there is one.
    """

    def __init__(self, path: str, venues: Sequence[str] = ()) -> None:
        self.path = path
        self.errors: list[Problem] = []
        self.venues = tuple(venues)

    def default_venue(self, node: yaml.Node, what: str) -> str | None:
        """Return the venue of a rule that names none, or None after recording why there is none."""
        if len(self.venues) == 1:
            return self.venues[0]
        self.error(node, f"{what}: no venue given, and {missing_venue(self.venues)}", NO_VENUE)
        return None

    def where(self, node: yaml.Node) -> str:
        """Return "path:line" of a node."""
        return f"{self.path}:{line_of(node)}"

    def error(
        self,
        at: yaml.Node | int,
        message: str,
        code: Code = BAD_VALUE,
        column: int | None = None,
    ) -> None:
        """Record a problem at a node (its line and column), or at a line (and `column`)."""
        if isinstance(at, int):
            self.errors.append(Problem(self.path, at, column, code, message))
        else:
            self.errors.append(Problem(self.path, line_of(at), column_of(at), code, message))

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
            self.error(node, f"{what}: expected a mapping, got {describe(node)}", WRONG_TYPE)
            return None
        entries: dict[str, Entry] = {}
        choices = ", ".join(sorted(allowed or ()))
        for key, value in node.value:
            if key.tag == MERGE:
                self.error(key, f"{what}: YAML merge keys (<<) are not supported", MERGE_KEY)
            elif not isinstance(key, yaml.ScalarNode) or key.tag != STR:
                self.error(key, f"{what}: keys must be strings, got {describe(key)}", WRONG_TYPE)
            elif key.value in entries:
                first = line_of(entries[key.value][0])
                self.error(
                    key,
                    f"{what}: duplicate key {shown(key.value)} (first at line {first})",
                    DUPLICATE_KEY,
                )
            elif allowed is not None and key.value not in allowed:
                self.error(
                    key, f"{what}: unknown key {shown(key.value)}; allowed: {choices}", UNKNOWN_KEY
                )
            else:
                entries[key.value] = (key, value)
        for name in sorted(set(required) - entries.keys()):
            self.error(node, f"{what}: missing required key {name!r}", MISSING_KEY)
        return entries

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node] | None:
        """Return a list's items."""
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, f"{what}: expected a list, got {describe(node)}", WRONG_TYPE)
            return None
        return list(node.value)

    def string(
        self, node: yaml.Node, what: str, pattern: re.Pattern[str] | None = None, rule: str = ""
    ) -> str | None:
        """Return a string scalar, optionally matching `pattern` (described by `rule`)."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            hint = " (quote it)" if node.tag in (INT, FLOAT, BOOL, NULL) else ""
            self.error(node, f"{what}: expected a string, got {describe(node)}{hint}", WRONG_TYPE)
            return None
        value = str(node.value)
        if pattern is not None and not pattern.fullmatch(value):
            self.error(node, f"{what}: {shown(value)} is not valid: {rule}", BAD_FORMAT)
            return None
        return value

    def choice(self, node: yaml.Node, what: str, options: Sequence[str]) -> str | None:
        """Return a string that must be one of `options`."""
        value = self.string(node, what)
        if value is not None and value not in options:
            self.error(
                node, f"{what}: {shown(value)} is not one of: {', '.join(options)}", NOT_A_CHOICE
            )
            return None
        return value

    def decimal(self, node: yaml.Node, what: str, positive: bool = False) -> Decimal | None:
        """Return a finite, bounded Decimal (greater than zero if `positive`) from a number or a
        string, built from the scalar's text."""
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, INT, FLOAT):
            self.error(node, f"{what}: expected a decimal number, got {describe(node)}", WRONG_TYPE)
            return None
        raw = str(node.value).strip()
        quoted = shown(raw)
        if node.tag == INT and _LEADING_ZERO.fullmatch(raw):
            self.error(
                node, f"{what}: {quoted} has a leading zero (YAML reads it as octal)", BAD_NUMBER
            )
            return None
        try:
            if node.tag == INT and not raw.lstrip("+-").replace("_", "").isdigit():
                # 0x1F, 0b101, 1:30: YAML 1.1 integer spellings; the int is exact, so use it.
                value = Decimal(SafeConstructor().construct_yaml_int(node))
            else:
                value = Decimal(raw)
        except (InvalidOperation, ValueError):
            self.error(node, f"{what}: {quoted} is not a decimal number", BAD_NUMBER)
            return None
        if not value.is_finite():
            self.error(node, f"{what}: {quoted} is not a finite number", BAD_NUMBER)
            return None
        problem = decimal_problem(value, positive)
        if problem:
            self.error(node, f"{what}: {quoted} {problem}", OUT_OF_RANGE)
            return None
        return value

    def boolean(self, node: yaml.Node, what: str) -> bool | None:
        """Return a true/false scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != BOOL:
            self.error(node, f"{what}: expected true or false, got {describe(node)}", WRONG_TYPE)
            return None
        return bool(SafeConstructor().construct_yaml_bool(node))

    def integer(self, node: yaml.Node, what: str) -> int | None:
        """Return a plain integer scalar."""
        if not isinstance(node, yaml.ScalarNode) or node.tag != INT:
            self.error(node, f"{what}: expected an integer, got {describe(node)}", WRONG_TYPE)
            return None
        try:
            return int(str(node.value).replace("_", ""))
        except ValueError:
            self.error(node, f"{what}: {shown(str(node.value))} is not a plain integer", BAD_NUMBER)
            return None

    def names(
        self, node: yaml.Node, what: str, pattern: re.Pattern[str], rule: str
    ) -> list[tuple[str, yaml.Node]] | None:
        """Return one or more names, written as a single string or a non-empty list."""
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, what)
        if items is None:
            return None
        if not items:
            self.error(node, f"{what}: needs at least one name", EMPTY_LIST)
            return None
        found: list[tuple[str, yaml.Node]] = []
        seen: set[str] = set()
        for item in items:
            name = self.string(item, what, pattern, rule)
            if name is not None and name in seen:
                self.error(item, f"{what}: {shown(name)} is listed twice", LISTED_TWICE)
            elif name is not None:
                seen.add(name)
                found.append((name, item))
        return found if len(found) == len(items) else None

    def market(self, node: yaml.Node, what: str, venue: str | None) -> str | None:
        """Return a market spelled as `venue` spells its markets; with no venue (a filter that
        matches any), as at least one configured venue spells them."""
        market = self.string(node, what, MARKET, MARKET_RULE)
        if market is None:
            return None
        venues = (venue,) if venue is not None else self.venues
        problems = [(v, market_problem(v, market)) for v in venues]
        if not problems or not all(problem for _, problem in problems):
            return market
        if secretish(market):  # the venue's words would quote it
            where = ", ".join(venues)
            self.error(node, f"{what}: {HIDDEN} is not a market name on {where}", BAD_MARKET)
        elif len(problems) == 1:
            self.error(node, f"{what}: {problems[0][1]}", BAD_MARKET)
        else:
            each = "; ".join(f"on {v}: {problem}" for v, problem in problems)
            self.error(node, f"{what}: no configured venue spells a market so ({each})", BAD_MARKET)
        return None

    def duration(
        self, node: yaml.Node, what: str, at_most: int = MAX_SECONDS, at_least: int = 1
    ) -> float | None:
        """Return the seconds of a duration such as "5m" or "1h30m", within the bounds."""
        if node.tag in (INT, FLOAT):
            self.error(node, f"{what}: needs a unit ({EXAMPLES})", BAD_DURATION)
            return None
        text = self.string(node, what)
        if text is None:
            return None
        # parse_duration quotes the text: not one that looks like a token (a duration's own
        # characters aside: 400 digits and an s are no secret).
        if secretish(text) and set(text) - _DURATION_CHARS:
            self.error(node, f"{what}: {HIDDEN} is not a duration ({EXAMPLES})", BAD_DURATION)
            return None
        try:
            return parse_duration(text, at_most=at_most, at_least=at_least)
        except ValueError as exc:
            self.error(node, f"{what}: {exc}", BAD_DURATION)
            return None
