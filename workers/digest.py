"""What a channel receives: one message as written, or many coalesced into one digest.

A digest lists each message on one line ("• rule: text", at most LINE_MAX characters) and holds
as many lines as fit in BODY_MAX (under Telegram's 4,096 and Slack's 40,000); the messages that
do not fit stay in the outbox for the next send. A message that fell back from a dead channel
says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from workers.outbox import Message

LINE_MAX = 300
BODY_MAX = 3500
TITLE_PREFIX = "klaxon: "


def single(message: Message) -> tuple[str, str]:
    """Return the title and body of one message sent alone."""
    return _marked(message, message.title), message.body


def compose(messages: Sequence[Message]) -> tuple[str, str, int]:
    """Return the title and body for the leading messages that fit, and how many they are."""
    if len(messages) == 1:
        return (*single(messages[0]), 1)
    lines: list[str] = []
    size = 0
    for message in messages:
        line = _line(message)
        if lines and size + len(line) + 1 > BODY_MAX:
            break
        lines.append(line)
        size += len(line) + 1
    if len(lines) == 1:
        return (*single(messages[0]), 1)
    return f"{TITLE_PREFIX}{len(lines)} alerts", "\n".join(lines), len(lines)


def alerts_in(title: str, body: str) -> int:
    """Return how many alerts a delivered message holds: a digest's lines (as compose made
    them), else 1."""
    lines = body.count("\n") + 1
    return lines if lines > 1 and title == f"{TITLE_PREFIX}{lines} alerts" else 1


def _line(message: Message) -> str:
    name = message.title.removeprefix(TITLE_PREFIX)
    text = " ".join(message.body.split())  # one line per message
    line = f"• {_marked(message, name)}: {text}"
    return line if len(line) <= LINE_MAX else line[: LINE_MAX - 1] + "…"


def _marked(message: Message, text: str) -> str:
    if not message.via:
        return text
    return f"{text} (fallback for '{message.via[-1]}')"
