"""How fast klaxon may send to a channel: its own `rate:`, else its service's known limits.

The services cap us per destination, and answer 429 beyond (DESIGN.md, "Known traps"):
Telegram about 1 message/s per chat and 20/min in a group (group and channel chat ids are
negative, or @names); Slack about 1/s per channel; Discord webhooks about 30/min. Generic web
hooks (json, form, xml: often local) get a looser limit; any other scheme 1/s.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from rules.base import Channel
from rules.channel import Rate
from workers.notify import scheme_of

PER_SECOND = Rate(count=1, seconds=1)
GROUP = (PER_SECOND, Rate(count=20, seconds=60))
BY_SCHEME: dict[str, tuple[Rate, ...]] = {
    "tgram": (PER_SECOND,),
    "slack": (PER_SECOND,),
    "discord": (PER_SECOND, Rate(count=30, seconds=60)),
    "json": (Rate(count=10, seconds=1),),
    "form": (Rate(count=10, seconds=1),),
    "xml": (Rate(count=10, seconds=1),),
}
DEFAULT = (PER_SECOND,)


def limits_of(channel: Channel) -> tuple[Rate, ...]:
    """Return the rate limits of a channel: its `rate:` if set, else its scheme's."""
    if channel.rates:
        return channel.rates
    url = channel.url.get_secret_value()
    scheme = scheme_of(url)
    if scheme == "tgram" and _telegram_group(url):
        return GROUP
    return BY_SCHEME.get(scheme, DEFAULT)


def _telegram_group(url: str) -> bool:
    """Whether a tgram:// URL names a group or channel (a negative chat id, or an @name)."""
    parts = urlsplit(url)
    targets = [p for p in parts.path.split("/") if p]
    targets += [t for t in parts.query.replace("&", ",").split(",") if t.startswith("to=")]
    return any(t.removeprefix("to=").lstrip().startswith(("-", "@", "%40")) for t in targets)
