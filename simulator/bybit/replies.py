"""Bybit's replies to requests, in each stream's own shape (https://bybit-exchange.github.io/docs/v5/ws/connect;
the samples in tests/data/bybit/): public spot and linear answer {"success", "ret_msg", "conn_id",
"req_id", "op"} (spot leaves req_id out unless one came, and says ret_msg "subscribe" on a
subscribe), the private stream {"req_id"?, "success", "ret_msg", "op", "conn_id"}. A pong is
ret_msg "pong" with op "ping" on public streams, {"op": "pong", "args": [ms]} on the private one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from simulator.market import now_ms

Frame = dict[str, Any]


@dataclass(frozen=True)
class Request:
    """A well-formed request frame: its op, args and request id (None when none came)."""

    op: str
    args: list[Any]
    req_id: str | None


def parse(raw: str) -> Request | None:
    """Returns the request in a text frame, or None when it is not a JSON op request."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or not isinstance(body.get("op"), str):
        return None
    args, req_id = body.get("args", []), body.get("req_id")
    if not isinstance(args, list) or not (req_id is None or isinstance(req_id, str)):
        return None
    return Request(body["op"], args, req_id)


def ack(
    feed: str, conn_id: str, op: str, req_id: str | None, ret_msg: str = "", success: bool = True
) -> Frame:
    """Builds a feed's reply to a request (a refusal: success false, ret_msg saying why)."""
    if feed == "private":
        frame: Frame = {} if req_id is None else {"req_id": req_id}
        frame.update({"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn_id})
        return frame
    frame = {"success": success, "ret_msg": ret_msg, "conn_id": conn_id}
    if feed != "public-spot" or req_id is not None:
        frame["req_id"] = req_id or ""
    frame["op"] = op
    return frame


def subscribed(feed: str, conn_id: str, op: str, req_id: str | None) -> Frame:
    """Builds a feed's acknowledgement of a subscribe or unsubscribe."""
    ok = "subscribe" if feed == "public-spot" and op == "subscribe" else ""
    return ack(feed, conn_id, op, req_id, ok)


def refused(feed: str, conn_id: str, op: str, req_id: str | None, why: str) -> Frame:
    """Builds a feed's refusal of a request."""
    return ack(feed, conn_id, op, req_id, why, success=False)


def pong(feed: str, conn_id: str, req_id: str | None) -> Frame:
    """Builds a feed's answer to {"op": "ping"}."""
    if feed != "private":
        return ack(feed, conn_id, "ping", req_id, "pong")
    frame: Frame = {} if req_id is None else {"req_id": req_id}
    frame.update({"op": "pong", "args": [str(now_ms())], "conn_id": conn_id})
    return frame
