"""Bybit's replies to what klaxon sends (auth, subscribe, ping), on public and private streams.

The shapes differ by stream (https://bybit-exchange.github.io/docs/v5/ws/connect): spot and
linear answer `{"success", "ret_msg", "op": "subscribe"|"ping"}` (a pong says ret_msg "pong"),
option and spread answer `{"type": "COMMAND_RESP", "data": {"failTopics", ...}}` and
`{"op": "pong"}`, the private stream `{"op": "pong", "args": [...]}`. Acks and pongs map to
nothing, a successful auth is `logged_in`, a refused auth `login_failed`, a refused
subscription `error`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from watcher.errors import UnknownMessage, sample
from watcher.events import FeedState, FeedStatus
from watcher.sanity import scalar
from watcher.venues import Parsed

VENUE = "bybit"
NOTHING = Parsed([], [])
# Requests Bybit answers with {"success": true|false, "op": <the request's op>, ...}.
_ACKED = frozenset({"subscribe", "unsubscribe", "ping"})


def feed_status(feed: str, status: FeedState, detail: str) -> Parsed:
    """Return one FeedStatus of `feed`, now, with a truncated detail."""
    event = FeedStatus(
        venue=VENUE, feed=feed, status=status, detail=sample(detail), at=datetime.now(UTC)
    )
    return Parsed([], [event])


def reply(msg: dict[str, Any], feed: str, redact: Callable[[str], str]) -> Parsed | None:
    """Map a frame without a topic to what it says; None when it is no reply Bybit documents."""
    # Decoded values are read with scalar(), never str(): JSON nested deep overflows repr.
    op = msg.get("op")
    request = msg.get("request")
    if op is None and type(request) is dict:
        op = request.get("op")  # a refused request may come back inside "request"
    op = scalar(op) or None
    success = msg.get("success")
    text = redact(scalar(msg.get("ret_msg", "")))
    if msg.get("type") == "COMMAND_RESP":  # option and spread streams
        data = msg.get("data")
        failed = data.get("failTopics") if type(data) is dict else None
        if success is True and failed == []:
            return NOTHING
        topics = ", ".join(map(scalar, failed)) if type(failed) is list else scalar(failed)
        return feed_status(feed, "error", f"subscribe failed: {redact(topics) or text}")
    if op == "pong" or (op in _ACKED and success is True):
        return NOTHING
    if op == "auth" and success is True:
        return feed_status(feed, "logged_in", "")
    if success is not False:
        return None  # no verdict: not a reply (a request echoed, an order-entry reply, ...)
    if op == "auth":
        return feed_status(feed, "login_failed", text)
    if op in _ACKED:
        return feed_status(feed, "error", f"{op} failed: {text}")
    return None


def unknown(reason: str, raw: str | bytes, redact: Callable[[str], str]) -> UnknownMessage:
    """Return the UnknownMessage for a frame, its sample stripped of the API key."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return UnknownMessage(VENUE, reason, redact(text))


def decode(raw: str | bytes, redact: Callable[[str], str]) -> dict[str, Any]:
    """Return a frame's JSON object; raise UnknownMessage for anything else."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise unknown("not JSON", raw, redact) from None
    if type(msg) is not dict:
        raise unknown("not a JSON object", raw, redact)
    return msg


def answer(
    msg: dict[str, Any], raw: str | bytes, feed: str, redact: Callable[[str], str]
) -> Parsed:
    """Return what a frame without a topic says; raise UnknownMessage if it is no reply."""
    parsed = reply(msg, feed, redact)
    if parsed is None:
        raise unknown("not a reply Bybit documents", raw, redact)
    return parsed
