"""Connected websocket clients of any venue: sending, subscriptions, idle close, the read loop."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web
from yarl import URL


def dumps(frame: Any) -> str:
    """Serializes a frame compactly, as exchanges send them."""
    return json.dumps(frame, separators=(",", ":"))


@dataclass(frozen=True)
class IdleClose:
    """A venue closing connections that sent nothing for `timeout` seconds, with this close."""

    timeout: float
    code: int
    reason: bytes


class Client:
    """One websocket connection on one of a venue's feeds."""

    def __init__(self, feed: str, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.feed = feed
        self.ws = ws
        self.url: URL = request.rel_url  # path and query, for venues that key a feed by them
        self.transport = request.transport
        self.conn_id = secrets.token_hex(4)
        # A venue's own subscription args (OKX's {"channel", "instId"}, a stream or topic name).
        self.subscriptions: list[dict[str, str]] = []
        self.logged_in = False
        self.last_traffic = asyncio.get_running_loop().time()
        self.last_pong: float | None = None  # loop time of the last pong (venues that ping)

    def touch(self) -> None:
        """Records traffic in either direction (it postpones the idle close)."""
        self.last_traffic = asyncio.get_running_loop().time()

    async def send_text(self, text: str) -> None:
        """Sends one text frame; a connection that went away is left to its reader to reap."""
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
        except ConnectionResetError:
            return
        self.touch()

    async def send(self, frame: Any) -> None:
        """Sends one JSON frame."""
        await self.send_text(dumps(frame))

    def subscribe(self, arg: dict[str, str]) -> None:
        """Adds a subscription (a repeat is kept once)."""
        if arg not in self.subscriptions:
            self.subscriptions.append(arg)

    def unsubscribe(self, arg: dict[str, str]) -> None:
        """Removes a subscription if present."""
        if arg in self.subscriptions:
            self.subscriptions.remove(arg)

    async def watch_idle(self, idle: IdleClose) -> None:
        """Closes the connection once no frame went either way for `idle.timeout` seconds."""
        loop = asyncio.get_running_loop()
        while not self.ws.closed:
            remaining = self.last_traffic + idle.timeout - loop.time()
            if remaining <= 0:
                await self.ws.close(code=idle.code, message=idle.reason)
                return
            await asyncio.sleep(remaining)

    def describe(self) -> dict[str, Any]:
        """Returns this client as /sim/state shows it."""
        return {
            "connId": self.conn_id,
            "loggedIn": self.logged_in,
            "subscriptions": list(self.subscriptions),
        }


class Hub:
    """All connected clients of one venue, by feed; feeds whose pushes are paused (a silent
    feed) and feeds that refuse new connections (a feed that is down), as /sim/* sets them."""

    def __init__(self, feeds: Iterable[str]) -> None:
        self.clients: dict[str, set[Client]] = {feed: set() for feed in feeds}
        self.paused: set[str] = set()
        self.refused: set[str] = set()

    def all(self, feed: str | None = None) -> list[Client]:
        """Returns the clients of one feed, or of every feed."""
        if feed is not None:
            return list(self.clients[feed])
        return [c for clients in self.clients.values() for c in clients]

    async def close_all(self, feed: str, code: int, abort: bool = False) -> int:
        """Closes (or with `abort`, cuts without a close frame) every client of a feed."""
        clients = self.all(feed)
        if abort:
            for client in clients:
                if client.transport is not None:
                    client.transport.abort()
            return len(clients)
        await asyncio.gather(*(c.ws.close(code=code, message=b"") for c in clients))
        return len(clients)


OnText = Callable[[Client, str], Awaitable[None]]
OnBinary = Callable[[Client, bytes], Awaitable[None]]
OnOpen = Callable[[Client], None]


async def serve(
    request: web.Request,
    hub: Hub,
    feed: str,
    on_text: OnText,
    on_binary: OnBinary | None = None,
    idle: IdleClose | None = None,
    on_open: OnOpen | None = None,
) -> web.StreamResponse:
    """Runs one websocket connection of `feed`: text frames go to `on_text`, binary ones to
    `on_binary` (ignored without one); protocol pings are answered and do not count as traffic,
    pongs are recorded (Client.last_pong). `on_open` sees the client before any event can reach
    it (a venue sets up what the request's URL subscribed to)."""
    # autoping off: a protocol ping is answered here but, as on OKX, does not postpone `idle`;
    # only data frames (a venue's text "ping" among them) keep a connection alive.
    if feed in hub.refused:  # no upgrade: the client's handshake fails, as on an outage
        return web.Response(status=503, text="the feed refuses connections (/sim/refuse)")
    ws = web.WebSocketResponse(autoping=False, timeout=2.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    client = Client(feed, ws, request)
    if on_open is not None:
        on_open(client)
    hub.clients[feed].add(client)
    watchdog = asyncio.create_task(client.watch_idle(idle)) if idle is not None else None
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                client.touch()
                await on_text(client, msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.PONG:
                client.last_pong = asyncio.get_running_loop().time()
            elif msg.type is WSMsgType.BINARY:
                client.touch()
                if on_binary is not None:
                    await on_binary(client, msg.data)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        hub.clients[feed].discard(client)
    return ws
