"""Dead letters: messages a channel never took. Listed by `klaxon status`, re-sent by
`klaxon redeliver`. A record holds the channel's name, the error's class and the message's text:
never the channel's URL."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from watcher import keys
from workers.outbox import Message, Outbox


@dataclass(frozen=True)
class DeadLetter:
    """A message that died: where, why (the error's class), when, after how many attempts."""

    message: Message
    channel: str
    error: str
    at: datetime
    attempts: int

    @classmethod
    def from_record(cls, raw: bytes | str) -> DeadLetter:
        """Decode a keys.DEAD_LETTER_DATA record (written by workers/outbox.py)."""
        data = json.loads(raw)
        return cls(
            message=Message.from_json(data["message"]),
            channel=str(data["channel"]),
            error=str(data["error"]),
            at=datetime.fromtimestamp(int(data["at"]) / 1000, UTC),
            attempts=int(data["attempts"]),
        )

    def line(self) -> str:
        """One line for `klaxon status`."""
        at = self.at.isoformat(timespec="seconds").replace("+00:00", "Z")
        return (
            f"{at} channel '{self.channel}' {self.error} after {self.attempts} attempt(s): "
            f"firing {self.message.firing} (job {self.message.id})"
        )


def count(client: redis.Redis) -> int:
    """Return how many dead letters there are."""
    return int(client.zcard(keys.DEAD_LETTERS))


def recent(client: redis.Redis, n: int = 5) -> list[DeadLetter]:
    """Return the last `n` dead letters, newest first."""
    ids = [_text(i) for i in client.zrevrange(keys.DEAD_LETTERS, 0, n - 1)]
    return _fetch(client, ids)


def all_ids(client: redis.Redis) -> list[str]:
    """Return every dead letter's id, oldest first."""
    return [_text(i) for i in client.zrange(keys.DEAD_LETTERS, 0, -1)]


def redeliver(client: redis.Redis, ids: Iterable[str]) -> tuple[list[DeadLetter], list[str]]:
    """Move dead letters back to their channel's outbox and queue a flush of each channel;
    return those moved and the ids that were not dead letters."""
    wanted = list(dict.fromkeys(ids))
    raws = client.hmget(keys.DEAD_LETTER_DATA, wanted) if wanted else []
    moved: list[DeadLetter] = []
    unknown: list[str] = []
    for id_, raw in zip(wanted, raws, strict=True):
        if raw is None:
            unknown.append(id_)
            continue
        letter = DeadLetter.from_record(raw)
        if Outbox(client, letter.channel).revive(letter.message):
            moved.append(letter)
        else:
            unknown.append(id_)  # redelivered by someone else meanwhile
    # Imported here: delivery imports the notify machinery, which `klaxon status` never needs.
    from workers.delivery import schedule_flush

    for channel in sorted({letter.channel for letter in moved}):
        schedule_flush(client, channel, 0)
    return moved, unknown


def _fetch(client: redis.Redis, ids: list[str]) -> list[DeadLetter]:
    if not ids:
        return []
    raws = client.hmget(keys.DEAD_LETTER_DATA, ids)
    return [DeadLetter.from_record(raw) for raw in raws if raw is not None]


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
