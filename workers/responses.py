"""What a service answered during one apprise send: HTTP status and retry-after, never a URL.

apprise turns a failed send into a bare False: a 429's Retry-After header (or the retry_after
that Telegram and Slack put in the JSON body) is lost, and so is the difference between "try
again" (5xx) and "never" (401, 403, 404). apprise's HTTP plugins post through requests, which
builds a Session per call and runs each Session's response hooks on every response. install()
adds one hook to the defaults of every new Session; the hook records (status, retry_after) for
the send in progress, found through a context variable (apprise copies the context into the
threads it sends from), and does nothing outside observe().
"""

from __future__ import annotations

import email.utils
import json
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import requests.sessions

MAX_RETRY_AFTER = 3600.0  # seconds: a longer ask is capped (a misbehaving endpoint)
_MAX_BODY = 64 * 1024  # a 429's JSON body is read only when it is small
_MARK = "_klaxon_observer"


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP response seen during a send: its status and retry-after (None: not given)."""

    status: int
    retry_after: float | None


_answers: ContextVar[list[Answer] | None] = ContextVar("klaxon_answers", default=None)
_installing = threading.Lock()


def _record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    answers = _answers.get()
    if answers is not None:
        wait = retry_after(response) if response.status_code == 429 else None
        answers.append(Answer(response.status_code, wait))


def install() -> None:
    """Add the recording hook to every requests Session created from now on (idempotent)."""
    with _installing:
        _install()


def _install() -> None:
    # Session.__init__ looks default_hooks up in requests.sessions, where it is imported.
    current: Callable[[], dict[str, list[Any]]] = requests.sessions.default_hooks  # type: ignore[attr-defined]
    if getattr(current, _MARK, False):
        return

    def default_hooks() -> dict[str, list[Any]]:
        hooks = current()
        hooks.setdefault("response", []).append(_record)
        return hooks

    setattr(default_hooks, _MARK, True)
    requests.sessions.default_hooks = default_hooks  # type: ignore[attr-defined]


@contextmanager
def observe() -> Iterator[list[Answer]]:
    """Collect the answers of the HTTP requests made in this context (and its copies)."""
    install()
    answers: list[Answer] = []
    token = _answers.set(answers)
    try:
        yield answers
    finally:
        _answers.reset(token)


def retry_after(response: requests.Response) -> float | None:
    """Return how long a 429 asks to wait: the Retry-After header, else a JSON retry_after."""
    header = response.headers.get("Retry-After")
    if header:
        return _seconds(header.strip())
    length = response.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > _MAX_BODY:
        return None
    try:
        body = json.loads(response.content[:_MAX_BODY])
    except (ValueError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    # Telegram: {"parameters": {"retry_after": 5}}; Slack's Web API: {"retry_after": 1}.
    params = body.get("parameters")
    value = params.get("retry_after") if isinstance(params, dict) else body.get("retry_after")
    return _bounded(value) if isinstance(value, int | float) else None


def _seconds(text: str) -> float | None:
    """Read a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    try:
        return _bounded(float(text))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return _bounded((at - datetime.now(UTC)).total_seconds())


def _bounded(value: float) -> float | None:
    if isinstance(value, bool) or not math.isfinite(value):
        return None
    return min(max(float(value), 0.0), MAX_RETRY_AFTER)
