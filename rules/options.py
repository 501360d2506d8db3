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
from rules.codes import BAD_REPEAT, BAD_TEMPLATE, EMPTY_MESSAGE, NOT_A_CHOICE
from rules.duration import EXAMPLES, parse_duration
from rules.reader import FLOAT, INT, STR, Reader
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
_REARM = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)\s*")


def read_options(
    reader: Reader, entries: Mapping[str, tuple[yaml.Node, yaml.Node]]
) -> Options | None:
    """Read a rule's options (rules/timing.py): hold, rearm, expires or for, quiet."""
    errors = len(reader.errors)
    fields: dict[str, object] = {}
    if "hold" in entries:
        seconds = read_duration(reader, entries["hold"][1], "hold", MAX_HOLD_SECONDS)
        fields["hold_ms"] = None if seconds is None else int(seconds * 1000)
    if "rearm" in entries:
        fields["rearm"] = _rearm(reader, entries["rearm"][1])
    if "expires" in entries and "for" in entries:
        reader.error(entries["for"][0], "for: give `expires` or `for`, not both")
    elif "expires" in entries:
        fields["expires_ms"] = _instant(reader, entries["expires"][1])
    elif "for" in entries:
        seconds = read_duration(reader, entries["for"][1], "for", MAX_FOR_SECONDS)
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
    rearm on a rule that is not a once-rule."""
    for option in OPTION_KEYS:
        problem = rule.option_problem(option) if option in entries else ""
        if problem:
            reader.error(entries[option][0], f"{option}: {problem}")
        elif option == "rearm" and option in entries and not rearms(entries, repeat):
            reader.error(
                entries[option][0], "rearm: re-arms a once-rule; remove `repeat` or `cooldown`"
            )


def read_duration(reader: Reader, node: yaml.Node, what: str, at_most: int) -> float | None:
    """Return a duration's seconds (at most `at_most`), or None after recording why not."""
    if node.tag in (INT, FLOAT):
        reader.error(node, f"{what}: needs a unit ({EXAMPLES})")
        return None
    text = reader.string(node, what)
    if text is None:
        return None
    shown = repr(text if len(text) <= 24 else text[:24] + "...")
    try:
        seconds = parse_duration(text[:64])
    except ValueError as exc:
        reader.error(node, f"{what}: {str(exc).replace(repr(text[:64]), shown)}")
        return None
    if len(text) > 64 or seconds > at_most:
        reader.error(node, f"{what}: {shown} is longer than {at_most // 86_400}d")
        return None
    return seconds


def _rearm(reader: Reader, node: yaml.Node) -> Rearm | None:
    """Return `rearm:` as an amount (100) or a percentage of the level ("0.5%")."""
    if isinstance(node, yaml.ScalarNode) and node.tag == STR and node.value.strip().endswith("%"):
        match = _REARM.fullmatch(node.value)
        amount = Decimal(match.group(1)) if match else None
        if amount is None or not 0 < amount < 100:
            reader.error(node, f"rearm: {node.value[:24]!r} is not a percentage above 0 below 100")
            return None
        return Rearm(amount=amount, percent=True)
    amount = reader.decimal(node, "rearm")
    if amount is None:
        return None
    if amount <= 0 or amount.adjusted() >= 18:
        reader.error(node, "rearm: must be an amount greater than zero (or a percentage)")
        return None
    return Rearm(amount=amount)


def _instant(reader: Reader, node: yaml.Node) -> int | None:
    """Return `expires:` (ISO 8601 with a zone, or a date: midnight UTC) as epoch ms."""
    if not isinstance(node, yaml.ScalarNode) or node.tag not in (STR, TIMESTAMP):
        reader.error(node, "expires: expected a time such as 2026-12-31T00:00Z")
        return None
    text = str(node.value).strip()
    try:
        at = datetime.fromisoformat(text[:64])
    except ValueError:
        reader.error(node, f"expires: {text[:40]!r} is not a time such as 2026-12-31T00:00Z")
        return None
    if len(text) == 10:  # a date alone
        at = at.replace(tzinfo=UTC)
    if at.tzinfo is None:
        reader.error(node, f"expires: {text!r} has no time zone: add Z (UTC) or +02:00")
        return None
    return int(at.timestamp() * 1000)


def _quiet(reader: Reader, node: yaml.Node) -> Quiet | None:
    """Return `quiet:` hours: "HH:MM-HH:MM" and a time zone (UTC when left out)."""
    text = reader.string(node, "quiet")
    if text is None:
        return None
    match = _QUIET.fullmatch(text)
    if match is None:
        reader.error(node, f"quiet: {text[:40]!r} is not hours such as {_QUIET_EXAMPLE}")
        return None
    h1, m1, h2, m2, zone = match.groups()
    start, end = int(h1) * 60 + int(m1), int(h2) * 60 + int(m2)
    if max(int(h1), int(h2)) > 23 or max(int(m1), int(m2)) > 59 or start == end:
        reader.error(node, f"quiet: {text!r} is not hours such as {_QUIET_EXAMPLE}")
        return None
    zone = "UTC" if zone is None or zone.upper() in ("UTC", "Z") else zone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder, a name too long
        reader.error(node, f"quiet: unknown time zone {zone[:40]!r} ({_QUIET_EXAMPLE})")
        return None
    return Quiet(start=start, end=end, zone=zone)
