"""Parsing of websocket op requests (`{"id","op","args"}`) and the errors they can earn."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from simulator.okx import frames

_REQ_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_DOC_HINT = "Please use the correct URL, channel and parameters referring to API document."


@dataclass(frozen=True)
class OpRequest:
    """A well-formed op request; `args` are the raw arg objects."""

    op: str
    args: list[dict[str, Any]]
    req_id: str | None


def parse_op(raw: str) -> OpRequest | None:
    """Returns the request in a text frame, or None when it is not a well-formed op request."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    op, args, req_id = body.get("op"), body.get("args"), body.get("id")
    if not isinstance(op, str) or not isinstance(args, list) or not args:
        return None
    if not all(isinstance(a, dict) for a in args):
        return None
    if req_id is not None and not (isinstance(req_id, str) and _REQ_ID.match(req_id)):
        return None
    return OpRequest(op, args, req_id)


def channel_arg(arg: dict[str, Any]) -> dict[str, str] | None:
    """Returns a subscribe arg when it names a channel and every value is a string."""
    if not isinstance(arg.get("channel"), str):
        return None
    if not all(isinstance(v, str) for v in arg.values()):
        return None
    return {str(k): str(v) for k, v in arg.items()}


def invalid(raw: str, conn_id: str, req_id: str | None = None) -> frames.Frame:
    """Builds error 60012 echoing the request, except a login's (it holds credentials)."""
    shown = "<login request>" if "login" in raw else raw
    return frames.error("60012", f"Invalid request: {shown}", conn_id, req_id)


def wrong_channel(arg: dict[str, str], conn_id: str, req_id: str | None) -> frames.Frame:
    """Builds error 60018 for a channel or instrument this URL does not serve."""
    params = ",".join(f"{k}:{v}" for k, v in arg.items() if k != "channel")
    what = f"{arg.get('channel', '')},{params}" if params else arg.get("channel", "")
    return frames.error(
        "60018", f"Wrong URL or channel:{what} doesn't exist. {_DOC_HINT}", conn_id, req_id
    )
