"""Connected websocket clients: sending, subscriptions, fan-out and OKX's idle close."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from simulator.engine import Push, inst_matches
from simulator.okx.frames import error

PUBLIC_CHANNELS = frozenset({"tickers", "mark-price"})
# Channels whose pushes carry eventType/curPage/lastPage (snapshot pagination).
PAGED_CHANNELS = frozenset({"positions", "account"})
IDLE_CLOSE_CODE = 4004
IDLE_CLOSE_REASON = b"No data received in 30s"


def dumps(frame: dict[str, Any]) -> str:
    """Serializes a frame compactly, as OKX sends them."""
    return json.dumps(frame, separators=(",", ":"))


class Client:
    """One websocket connection on the public or private feed."""

    def __init__(self, feed: str, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.feed = feed
        self.ws = ws
        self.transport = request.transport
        self.conn_id = secrets.token_hex(4)
        self.subscriptions: list[dict[str, str]] = []
        self.logged_in = False
        self.last_traffic = asyncio.get_running_loop().time()

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

    async def send(self, frame: dict[str, Any]) -> None:
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

    async def watch_idle(self, timeout: float) -> None:
        """Closes the connection with 4004 once no frame went either way for `timeout` seconds."""
        loop = asyncio.get_running_loop()
        while not self.ws.closed:
            remaining = self.last_traffic + timeout - loop.time()
            if remaining <= 0:
                await self.ws.close(code=IDLE_CLOSE_CODE, message=IDLE_CLOSE_REASON)
                return
            await asyncio.sleep(remaining)

    def describe(self) -> dict[str, Any]:
        """Returns this client as /sim/state shows it."""
        return {
            "connId": self.conn_id,
            "loggedIn": self.logged_in,
            "subscriptions": list(self.subscriptions),
        }


def covers(arg: dict[str, str], push: Push) -> bool:
    """Tells whether a subscription arg receives a push."""
    if arg.get("channel") != push.channel:
        return False
    if push.channel in PUBLIC_CHANNELS:
        return arg.get("instId") == push.inst_id
    if push.channel == "account":
        return arg.get("ccy") in (None, "", push.data["details"][0]["ccy"])
    return inst_matches(arg, push.inst_type, push.inst_id)


def push_frame(arg: dict[str, str], uid: str, data: list[Any], event_type: str) -> dict[str, Any]:
    """Builds a push envelope: private args carry the uid, paged channels their page fields."""
    channel = arg.get("channel", "")
    frame: dict[str, Any] = {"arg": arg if channel in PUBLIC_CHANNELS else {**arg, "uid": uid}}
    if channel in PAGED_CHANNELS:
        frame.update({"eventType": event_type, "curPage": 1, "lastPage": True})
    frame["data"] = data
    return frame


class Hub:
    """All connected clients by feed."""

    def __init__(self) -> None:
        self.clients: dict[str, set[Client]] = {"public": set(), "private": set()}

    def all(self, feed: str) -> list[Client]:
        """Returns the clients of one feed."""
        return list(self.clients[feed])

    async def publish(self, push: Push, uid: str) -> None:
        """Sends a push to every subscription that covers it."""
        private = push.channel not in PUBLIC_CHANNELS
        for client in self.all("private" if private else "public"):
            if private and not client.logged_in:
                continue
            for arg in list(client.subscriptions):
                if covers(arg, push):
                    await client.send(push_frame(arg, uid, [push.data], "event_update"))

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


async def serve(
    request: web.Request,
    hub: Hub,
    feed: str,
    idle_timeout: float,
    on_text: Callable[[Client, str], Awaitable[None]],
) -> web.WebSocketResponse:
    """Runs one websocket connection: text `ping` -> `pong`, other text frames to `on_text`."""
    # autoping off: protocol pings are answered below but, as on OKX, do not count as traffic;
    # only text frames (the documented "ping" among them) keep a connection alive.
    ws = web.WebSocketResponse(autoping=False, timeout=2.0, max_msg_size=64 * 1024)
    await ws.prepare(request)
    client = Client(feed, ws, request)
    hub.clients[feed].add(client)
    watchdog = asyncio.create_task(client.watch_idle(idle_timeout))
    try:
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                client.touch()
                if msg.data == "ping":
                    await client.send_text("pong")
                else:
                    await on_text(client, msg.data)
            elif msg.type is WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type is WSMsgType.BINARY:
                client.touch()
                # OKX speaks text frames only.
                await client.send(error("60012", "Invalid request: <binary frame>", client.conn_id))
    finally:
        watchdog.cancel()
        hub.clients[feed].discard(client)
    return ws
