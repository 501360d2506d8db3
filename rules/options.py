"""What a rule and a `tables:` entry both write: the message template and the repeat policy."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from rules.base import Cooldown, Every, Once, Rule
from rules.codes import BAD_REPEAT, BAD_TEMPLATE, EMPTY_MESSAGE, NOT_A_CHOICE
from rules.duration import EXAMPLES
from rules.reader import Reader
from rules.template import Template, TemplateError

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
    reader: Reader, entries: Mapping[str, tuple[yaml.Node, yaml.Node]], cls: type[Rule] | None
) -> Once | Every | Cooldown | None:
    """Read `repeat:` or `cooldown:` (exclusive), or return the kind's default."""
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
    return cls.DEFAULT_REPEAT if cls is not None else None
