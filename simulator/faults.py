"""Injected REST failures: the next N calls answer a 5xx, or answer later than any client waits.

A fault may first carry the request out (`execute`): the order then exists although its client
saw an error or a timeout, which is the case an exactly-once order path has to survive. Apart
from faults, every answer may come SimConfig.answer_delay after its call was carried out, as a
distant venue's does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import hdrs, web

from simulator.venue import VENUE_KEY

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Fault:
    """What the next `count` matching REST calls get."""

    mode: str  # "5xx" or "timeout"
    count: int
    execute: bool  # carry the request out before failing it
    status: int = 503
    hold: float = 3.0  # seconds a "timeout" answer waits
    path: str = ""  # only calls to this path; "" = every REST call
    method: str = ""  # only calls with this method (GET, POST); "" = any

    def describe(self) -> dict[str, object]:
        """Returns the fault as the control API shows it."""
        return {
            "mode": self.mode, "count": self.count, "execute": self.execute,
            "status": self.status, "hold": self.hold, "path": self.path, "method": self.method,
        }  # fmt: skip


class Faults:
    """The queue of pending faults; the first one matching a call takes it."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def take(self, method: str, path: str) -> Fault | None:
        """Returns the fault for a call (using up one of its count), or None."""
        for fault in self.pending:
            if fault.path in ("", path) and fault.method in ("", method):
                fault.count -= 1
                if fault.count <= 0:
                    self.pending.remove(fault)
                return fault
        return None


FAULTS_KEY = web.AppKey("faults", Faults)


def is_rest(request: web.Request) -> bool:
    """Tells whether a request is a call of the venue's REST API: not /sim/*, not a WebSocket."""
    upgrade = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
    return not upgrade and not request.path.startswith("/sim/")


@web.middleware
async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Fails REST calls as the pending faults say; every other call passes (its answer
    delayed by the venue's answer_delay)."""
    if not is_rest(request):
        return await handler(request)
    fault = request.app[FAULTS_KEY].take(request.method, request.path)
    if fault is None:
        answer = await handler(request)
        delay = request.app[VENUE_KEY].config.answer_delay
        if delay:
            await asyncio.sleep(delay)
        return answer
    response = await handler(request) if fault.execute else None
    if fault.mode == "timeout":
        await asyncio.sleep(fault.hold)  # the client has given up by now
        if response is not None:
            return response
    body = request.app[VENUE_KEY].protocol.fault_body(fault.status)
    return web.json_response(body, status=fault.status)
