"""Delivery through apprise, without ever exposing a channel's URL.

apprise throttles per plugin object (most plugins sleep ~5 s between two sends through the same
object), so every delivery builds a fresh Apprise: its first send never sleeps. apprise's own
logger prints full URLs (tokens included) at ERROR and below when a URL is malformed and dumps
parsed URLs at DEBUG; urllib3 logs each request's path (a Telegram bot token is in the path) at
DEBUG and retried URLs at WARNING. Both are silenced here; we log outcomes, by channel name.

apprise only says that a send failed; what the service answered (a 429's retry-after, a 403)
is read by workers/responses.py, so a failure is raised as what the caller must do about it.
Rate limits, digests, retries and fallbacks are the delivery engine's (workers/delivery.py).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import apprise
from pydantic import SecretStr

from rules.codes import BAD_URL, Problem
from watcher.errors import ChannelRefused, ChannelThrottled, ConfigError, NotificationError
from workers.responses import Answer, observe

if TYPE_CHECKING:
    from rules.load import RuleSet

log = logging.getLogger(__name__)

# Above CRITICAL: nothing these log can reach a handler (see the module docstring).
SILENT = logging.CRITICAL + 1
URL_LOGGERS = (apprise.LOGGER_NAME, "urllib3")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}")
# A 429 that does not say how long to wait: back off this long (services ask 1-60 s).
THROTTLED_DEFAULT_SECONDS = 30.0
TRANSIENT_4XX = frozenset({408, 425, 429})  # timeout, too early, too many: worth retrying


def silence_url_loggers() -> None:
    """Keep the loggers that print channel URLs with their tokens from emitting anything."""
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level != SILENT:
            logger.setLevel(SILENT)


silence_url_loggers()


def scheme_of(url: str) -> str:
    """Return the scheme of an apprise URL, or "" when it has none that is safe to show."""
    head, sep, _ = url.partition("://")
    # Anything that doesn't look like a scheme may be part of a secret: never show it.
    return head.lower() if sep and _SCHEME.fullmatch(head) else ""


def supported_schemes() -> frozenset[str]:
    """Return the URL schemes this apprise installation can deliver to."""
    manager = apprise.NotificationManager()  # type: ignore[no-untyped-call]
    schemes: list[str] = manager.schemas(include_disabled=False)  # type: ignore[no-untyped-call]
    return frozenset(s.lower() for s in schemes)


def url_problem(url: str) -> str:
    """Return why apprise cannot use `url` ("" when it can), naming at most its scheme."""
    scheme = scheme_of(url)
    if not scheme:
        return "apprise URL has no scheme (expected e.g. tgram://, slack://, json://)"
    if scheme not in supported_schemes():
        return f"apprise does not support scheme '{scheme}'"
    silence_url_loggers()
    if not apprise.Apprise().add(url):
        return f"apprise cannot parse this '{scheme}://' URL (check its format)"
    return ""


def channel_problems(ruleset: RuleSet) -> list[Problem]:
    """Return a Problem, at the channel's name, for every channel whose URL apprise cannot use."""
    problems = []
    for name, channel in ruleset.channels.items():
        problem = url_problem(channel.url.get_secret_value())
        if problem:
            path, _, line = channel.where.rpartition(":")  # "path:line", as the loader wrote it
            message = f"channel '{name}': {problem}"
            if path and line.isdigit():
                problems.append(Problem(path, int(line), channel.column, BAD_URL, message))
            else:
                problems.append(Problem(channel.where, None, None, BAD_URL, message))
    return problems


def check_channels(ruleset: RuleSet) -> list[str]:
    """Return a file:line error for every channel whose URL apprise cannot use."""
    return [problem.text() for problem in channel_problems(ruleset)]


def deliver(channel_url: SecretStr, title: str, body: str, *, channel: str = "?") -> None:
    """Send one message to one apprise URL; NotificationError (naming `channel`) on failure:
    ChannelThrottled after a 429 (with its retry-after), ChannelRefused after other 4xx."""
    silence_url_loggers()
    url = channel_url.get_secret_value()
    sender = apprise.Apprise()
    if not sender.add(url):
        scheme = scheme_of(url) or "?"
        raise ConfigError(f"channel '{channel}': apprise cannot use its '{scheme}://' URL")
    with observe() as answers:
        result = sender.notify(body=body, title=title)
    if not result:
        # Service name and status only: the per-attempt logs apprise keeps may hold the URL.
        outcome = ", ".join(f"{r.name} {r.status.name}" for r in result) or "no service"
        statuses = sorted({a.status for a in answers if a.status >= 400})
        if statuses:
            outcome += "; HTTP " + ", ".join(map(str, statuses))
        raise _failure(f"channel '{channel}': delivery failed ({outcome})", answers)
    log.debug("delivered to channel '%s'", channel)


def _failure(message: str, answers: list[Answer]) -> NotificationError:
    """Classify a failed send by what the service answered (apprise only says it failed)."""
    throttled = [a for a in answers if a.status == 429]
    if throttled:
        asked = [a.retry_after for a in throttled if a.retry_after is not None]
        return ChannelThrottled(message, max(asked) if asked else THROTTLED_DEFAULT_SECONDS)
    statuses = {a.status for a in answers}
    if statuses and all(400 <= s < 500 and s not in TRANSIENT_4XX for s in statuses):
        return ChannelRefused(message)  # bad token, chat not found, bot blocked: no retry helps
    return NotificationError(message)
