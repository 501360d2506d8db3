"""A `channels:` entry: an apprise URL, or a mapping of the URL and its delivery options.

channels:
  desk: "tgram://${TG_TOKEN}/${TG_CHAT}"      # the scheme's default rate, no fallback
  ops:
    url: "slack://${SLACK_HOOK}"
    rate: 1/s                                  # or a list: [1/s, 20/min]
    fallback: desk                             # where messages go when ops is dead
    digest: 5                                  # sent alone per minute before coalescing
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml
from pydantic import BaseModel, ConfigDict, Field

from rules.codes import BAD_RATE, OUT_OF_RANGE, SELF_REFERENCE
from rules.duration import parse_duration
from rules.reader import Reader

CHANNEL_KEYS = ("url", "rate", "fallback", "digest")
RATE_EXAMPLES = "e.g. 1/s, 20/min, 30/m, 2/5s"
_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*(s|sec|m|min|h|hour|d|day)\s*")
_UNIT = {"sec": "s", "min": "m", "hour": "h", "day": "d"}
MAX_DIGEST_AFTER = 1000
MAX_RATE_COUNT = 1_000_000  # messages in one window: more is no limit (and past Lua's exact ints)


class Rate(BaseModel):
    """At most `count` messages in any `seconds`-long window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(gt=0)
    seconds: float = Field(gt=0)

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds:g}s"


def parse_rate(text: str) -> Rate:
    """Return the Rate of "N/unit" or "N/<duration>" (ValueError says what is wrong)."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise ValueError(f"bad rate {text!r}: expected messages/period ({RATE_EXAMPLES})")
    count, amount, unit = match.groups()
    if len(count.lstrip("0")) > len(str(MAX_RATE_COUNT)) or int(count) > MAX_RATE_COUNT:
        raise ValueError(f"bad rate {text[:24]!r}: at most {MAX_RATE_COUNT} messages a window")
    seconds = parse_duration(f"{amount or 1}{_UNIT.get(unit, unit)}")
    if int(count) <= 0:
        raise ValueError(f"bad rate {text!r}: must allow at least one message")
    return Rate(count=int(count), seconds=seconds)


@dataclass(frozen=True)
class ChannelOptions:
    """What a channel mapping sets besides its URL (empty: the defaults)."""

    rates: tuple[Rate, ...] = ()
    fallback: str | None = None
    digest_after: int | None = None


def read_channel(
    reader: Reader, node: yaml.Node, name: str, names: re.Pattern[str], rule: str
) -> tuple[str | None, ChannelOptions]:
    """Read a channel's URL text (None when bad) and its options (errors go to `reader`)."""
    what = f"channels.{name}"
    if not isinstance(node, yaml.MappingNode):
        return reader.string(node, what), ChannelOptions()
    entries = reader.mapping(node, what, CHANNEL_KEYS, ("url",))
    if entries is None:
        return None, ChannelOptions()
    url = reader.string(entries["url"][1], f"{what}.url") if "url" in entries else None
    rates: tuple[Rate, ...] = ()
    if "rate" in entries:
        rates = _read_rates(reader, entries["rate"][1], f"{what}.rate")
    fallback = None
    if "fallback" in entries:
        fallback = reader.string(entries["fallback"][1], f"{what}.fallback", names, rule)
        if fallback == name:
            reader.error(
                entries["fallback"][1],
                f"{what}.fallback: cannot be the channel itself",
                SELF_REFERENCE,
            )
            fallback = None
    digest_after = None
    if "digest" in entries:
        digest_after = reader.integer(entries["digest"][1], f"{what}.digest")
        if digest_after is not None and not 0 <= digest_after <= MAX_DIGEST_AFTER:
            reader.error(
                entries["digest"][1],
                f"{what}.digest: must be 0 to {MAX_DIGEST_AFTER}",
                OUT_OF_RANGE,
            )
            digest_after = None
    return url, ChannelOptions(rates, fallback, digest_after)


def _read_rates(reader: Reader, node: yaml.Node, what: str) -> tuple[Rate, ...]:
    items = [node] if isinstance(node, yaml.ScalarNode) else reader.sequence(node, what)
    rates = []
    for item in items or ():
        text = reader.string(item, what)
        if text is None:
            continue
        try:
            rates.append(parse_rate(text))
        except ValueError as exc:
            reader.error(item, f"{what}: {exc}", BAD_RATE)
    return tuple(rates)
