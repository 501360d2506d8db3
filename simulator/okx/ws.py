"""OKX's two WebSocket endpoints: text ping/pong, the 30 s idle close, no binary frames."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from simulator.connection import Client, IdleClose, serve
from simulator.okx.frames import error
from simulator.okx.ws_private import on_private_text
from simulator.okx.ws_public import on_public_text
from simulator.venue import VENUE_KEY, Venue

FEEDS = {"public": "/ws/v5/public", "private": "/ws/v5/private"}
IDLE_CLOSE_CODE = 4004
IDLE_CLOSE_REASON = b"No data received in 30s"

OnText = Callable[[Venue, Client, str], Awaitable[None]]


async def _on_binary(client: Client, data: bytes) -> None:
    # OKX speaks text frames only.
    await client.send(error("60012", "Invalid request: <binary frame>", client.conn_id))


def _endpoint(feed: str, on_text: OnText) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]

        async def text(client: Client, raw: str) -> None:
            if raw == "ping":  # OKX's keepalive: a text "ping", answered "pong"
                await client.send_text("pong")
            else:
                await on_text(venue, client, raw)

        idle = IdleClose(venue.config.idle_timeout, IDLE_CLOSE_CODE, IDLE_CLOSE_REASON)
        return await serve(request, venue.hub, feed, text, _on_binary, idle)

    return handle


def add_routes(app: web.Application) -> None:
    """Mounts the public and private feeds on their OKX paths."""
    app.router.add_get(FEEDS["public"], _endpoint("public", on_public_text))
    app.router.add_get(FEEDS["private"], _endpoint("private", on_private_text))
