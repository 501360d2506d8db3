"""What every rule writes beside its kind: the message template, the repeat policy (both also
in a `tables:` entry) and the options of rules/timing.py (hold, rearm, expires or for, quiet)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from rules.base import Cooldown, Every, Once, Rule
from rules.codes import (
    BAD_FORMAT,
    BAD_OPTION,
    BAD_REPEAT,
    BAD_TEMPLATE,
    EMPTY_MESSAGE,
    NOT_A_CHOICE,
    ONE_OF,
    OUT_OF_RANGE,
    WRONG_TYPE,
)
from rules.duration import EXAMPLES
from rules.reader import STR, Reader, shown
from rules.template import Template, TemplateError
from rules.timing import NO_OPTIONS, Options, Quiet, Rearm

TIMESTAMP = "tag:yaml.org,2002:timestamp"  # an unquoted date (2026-12-31) in YAML 1.1

REPEATS = ("once", "every")


def read_message(
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
        reader.error(node, "message: is empty; remove it to use the default", EMPTY_MESSAGE)
        return None
    try:
        return Template(text, cls.PLACEHOLDERS)
    except TemplateError as exc:
        reader.error(node, f"message: {exc}", BAD_TEMPLATE)
        return None


def read_repeat(
    reader: Reader,
    entries: Mapping[str, tuple[yaml.Node, yaml.Node]],
    cls: type[Rule] | None,
    fields: Mapping[str, object] | None = None,
) -> Once | Every | Cooldown | None:
    """Read `repeat:` or `cooldown:` (exclusive), or return the kind's default for a rule of
    these `fields`."""
    if "cooldown" in entries:
        key, node = entries["cooldown"]
        if "repeat" in entries:
            reader.error(
                key, "cooldown: replaces repeat; remove `repeat` or `cooldown`", BAD_REPEAT
            )
            return None
        seconds = reader.duration(node, "cooldown")
        return None if seconds is None else Cooldown(seconds=seconds)
    if "repeat" in entries:
        node = entries["repeat"][1]
        value = reader.string(node, "repeat")
        if value == "cooldown":
            reader.error(
                node, f"repeat: write `cooldown: <duration>` instead ({EXAMPLES})", BAD_REPEAT
            )
        elif value is not None and value not in REPEATS:
            choices = f"{', '.join(REPEATS)}, cooldown"
            reader.error(node, f"repeat: {value!r} is not one of: {choices}", NOT_A_CHOICE)
        elif value is not None:
            return Once() if value == "once" else Every()
        return None
    return cls.default_repeat(fields or {}) if cls is not None else None


OPTION_KEYS = ("hold", "rearm", "expires", "for", "quiet")
MAX_HOLD_SECONDS = 86_400
MAX_FOR_SECONDS = 366 * 86_400
_QUIET = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})(?:\s+(\S+))?\s*")
_QUIET_EXAMPLE = 'e.g. "22:00-07:00 UTC" or "23:30-06:00 Europe/Paris"'
_REARM = re.compile(r"\s*([0-9]{1,6}(?:\.[0-9]{1,6})?)\s*%\s*")
_WHEN = "2026-12-31T00:00Z"


def read_options(
    reader: Reader, entries: Mapping[str, tuple[yaml.Node, yaml.Node]]
) -> Options | None:
    """Read a rule's options (rules/timing.py): hold, rearm, expires or for, quiet."""
    errors = len(reader.errors)
    fields: dict[str, object] = {}
    if "hold" in entries:
        seconds = reader.duration(entries["hold"][1], "hold", at_most=MAX_HOLD_SECONDS)
        fields["hold_ms"] = None if seconds is None else int(seconds * 1000)
    if "rearm" in entries:
        fields["rearm"] = _rearm(reader, entries["rearm"][1])
    if "expires" in entries and "for" in entries:
        reader.error(entries["for"][0], "for: give `expires` or `for`, not both", ONE_OF)
    elif "expires" in entries:
        fields["expires_ms"] = _instant(reader, entries["expires"][1])
    elif "for" in entries:
        seconds = reader.duration(entries["for"][1], "for", at_most=MAX_FOR_SECONDS)
        fields["for_ms"] = None if seconds is None else int(seconds * 1000)
    if "quiet" in entries:
        fields["quiet"] = _quiet(reader, entries["quiet"][1])
    if len(reader.errors) > errors:
        return None
    return Options.model_validate(fields) if fields else NO_OPTIONS


def rearms(
    entries: Mapping[str, tuple[yaml.Node, yaml.Node]], repeat: Once | Every | Cooldown
) -> bool:
    """Return whether `rearm:` may apply: to a once-rule, or a rule that gives no repeat."""
    return isinstance(repeat, Once) or not ({"repeat", "cooldown"} & entries.keys())


def check_options(
    reader: Reader,
    entries: Mapping[str, tuple[yaml.Node, yaml.Node]],
    rule: Rule,
    repeat: Once | Every | Cooldown,
) -> None:
    """Record an error for each option the rule's kind (or condition) cannot take, and for a
    rearm on a rule that repeats otherwise."""
    for option in OPTION_KEYS:
        problem = rule.option_problem(option) if option in entries else ""
        if problem:
            reader.error(entries[option][0], f"{option}: {problem}", BAD_OPTION)
        elif option == "rearm" and option in entries and not rearms(entries, repeat):
            message = "rearm: re-arms a once-rule; remove `repeat` or `cooldown`"
            reader.error(entries[option][0], message, BAD_REPEAT)


def _rearm(reader: Reader, node: yaml.Node) -> Rearm | None:
    """Return `rearm:` as an amount (100) or a percentage of the level ("0.5%")."""
    if isinstance(node, yaml.ScalarNode) and node.tag == STR and node.value.strip().endswith("%"):
        match = _REARM.fullmatch(node.value)
        amount = Decimal(match.group(1)) if match else None
        if amount is None or not 0 < amount < 100:
            message = f"rearm: {shown(node.value)} is not a percentage above 0, below 100"
            reader.error(node, message, OUT_OF_RANGE)
            return None
        return Rearm(amount=amount, percent=True)
    amount = reader.decimal(node, "rearm", positive=True)
    return None if amount is None else Rearm(amount=amount)


def _instant(reader: Reader, node: yaml.Node) -> int | None:
    """Return `expires:` (ISO 8601 with a zone, or a date: midnight UTC) as epoch ms."""
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, TIMESTAMP):
        reader.error(node, f"expires: expected a time such as {_WHEN}", WRONG_TYPE)
        return None
    text = str(node.value).strip()
    try:
        at = datetime.fromisoformat(text[:64])
    except ValueError:
        reader.error(node, f"expires: {shown(text)} is not a time such as {_WHEN}", BAD_FORMAT)
        return None
    if len(text) == 10:  # a date alone
        at = at.replace(tzinfo=UTC)
    if at.tzinfo is None:
        message = f"expires: {shown(text)} has no time zone: add Z (UTC) or +02:00"
        reader.error(node, message, BAD_FORMAT)
        return None
    return int(at.timestamp() * 1000)


def _quiet(reader: Reader, node: yaml.Node) -> Quiet | None:
    """Return `quiet:` hours: "HH:MM-HH:MM" and a time zone (UTC when left out)."""
    text = reader.string(node, "quiet")
    if text is None:
        return None
    match = _QUIET.fullmatch(text)
    hours = None if match is None else match.groups()
    if hours is not None:
        h1, m1, h2, m2, _ = hours
        if max(int(h1), int(h2)) > 23 or max(int(m1), int(m2)) > 59 or (h1, m1) == (h2, m2):
            hours = None
    if hours is None:
        message = f"quiet: {shown(text)} is not hours such as {_QUIET_EXAMPLE}"
        reader.error(node, message, BAD_FORMAT)
        return None
    h1, m1, h2, m2, zone = hours
    zone = "UTC" if zone is None or zone.upper() in ("UTC", "Z") else zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a name too long
        message = f"quiet: unknown time zone {shown(zone)} ({_QUIET_EXAMPLE})"
        reader.error(node, message, BAD_FORMAT)
        return None
    return Quiet(start=int(h1) * 60 + int(m1), end=int(h2) * 60 + int(m2), zone=zone)
