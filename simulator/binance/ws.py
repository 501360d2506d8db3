"""Binance's WebSocket endpoints: market streams (combined `/stream?streams=a/b`, raw
`/ws/<stream>`, live SUBSCRIBE), the user data stream (`/ws/<listenKey>`), server pings, and the
connection age limit.

Binance pings (spot every 20 s, USD-M every 3 min) and drops a connection whose pong is late
(1 and 10 minutes); an unsolicited pong does not count. It ends every connection at 24 hours.
SimConfig.ping_interval (the pong then being due within 3 pings) and max_connection_age
compress both. Which close code Binance sends then is not documented: the simulator sends 1001
at the age limit and 1008 for a missing pong. Nor is its answer to a URL naming a stream it does
not have: the simulator refuses the upgrade (HTTP 400) naming the stream.
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, web

from simulator.binance.listen_keys import USER_FEED
from simulator.binance.product import Product
from simulator.binance.push import COMBINED_PATH, Pushes, stream_parts
from simulator.config import SimConfig
from simulator.connection import Client, serve
from simulator.venue import VENUE_KEY, Venue

MARKET_FEED = "public"
FEEDS = {MARKET_FEED: COMBINED_PATH, USER_FEED: "/ws"}
MAX_STREAMS = 1024  # per connection
_METHODS = "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`"


def _refuse(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def _bad_streams(venue: Venue, product: Product, streams: list[str]) -> str | None:
    """Returns what is wrong with a list of stream names, or None."""
    if not streams or len(streams) > MAX_STREAMS:
        return f"name 1 to {MAX_STREAMS} streams"
    for stream in streams:
        symbol, kind = stream_parts(stream)
        if kind not in product.streams:
            return (
                f"the simulator serves no stream {stream!r} ({', '.join(sorted(product.streams))})"
            )
        if symbol != symbol.lower() or symbol.upper() not in venue.exchange.markets:
            return f"no market {symbol!r}: stream names are lower case <symbol>@<kind>"
    return None


async def _keep(client: Client, config: SimConfig, product: Product) -> None:
    """Pings the client and closes it when a pong is late or the connection reaches its age."""
    loop = asyncio.get_running_loop()
    interval = config.ping_interval or product.ping_interval
    pong_timeout = 3 * config.ping_interval if config.ping_interval else product.pong_timeout
    close_at = loop.time() + config.max_connection_age
    next_ping = loop.time() + interval
    waiting: float | None = None  # when the oldest ping not answered yet was sent
    while not client.ws.closed:
        now = loop.time()
        if waiting is not None and client.last_pong is not None and client.last_pong >= waiting:
            waiting = None
        if now >= close_at:
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"")
            return
        if waiting is not None and now - waiting >= pong_timeout:
            await client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"")
            return
        if now >= next_ping:
            try:
                await client.ws.ping(str(int(now * 1000)).encode())
            except ConnectionResetError:
                return
            waiting = now if waiting is None else waiting
            next_ping = now + interval
        due = min(close_at, next_ping, math.inf if waiting is None else waiting + pong_timeout)
        await asyncio.sleep(max(due - loop.time(), 0.0))


async def _snapshot(pushes: Pushes, venue: Venue, client: Client) -> None:
    """Sends each subscribed stream's current payload, as Binance's first periodic push does."""
    for sub in list(client.subscriptions):
        stream = sub["stream"]
        symbol, kind = stream_parts(stream)
        ticker = venue.exchange.ticker(symbol.upper())
        await client.send(pushes.wrap(client, stream, pushes.market_payload(kind, ticker)))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Endpoints:
    """The WebSocket handlers of one hosted product."""

    def __init__(self, pushes: Pushes) -> None:
        self.pushes = pushes
        self.product = pushes.product

    async def combined(self, request: web.Request) -> web.StreamResponse:
        """GET /stream?streams=a/b/c: the named market streams, each payload wrapped."""
        streams = [s for s in request.query.get("streams", "").split("/") if s]
        return await self._market(request, streams)

    async def raw(self, request: web.Request) -> web.StreamResponse:
        """GET /ws/<stream> (one raw market stream) or /ws/<listenKey> (user data)."""
        name = request.match_info["name"]
        if "@" in name:
            return await self._market(request, [name])
        keys = self.pushes.listen_keys
        if keys is None or not keys.valid(name):
            return _refuse(-1125, "This listenKey does not exist.")

        def opened(client: Client) -> None:
            client.logged_in = True
            client.subscriptions = [{"stream": "userData"}]

        return await self._serve(request, USER_FEED, opened, self._ignore)

    async def _market(self, request: web.Request, streams: list[str]) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]
        wrong = _bad_streams(venue, self.product, streams)
        if wrong is not None:
            return _refuse(-1100, f"Invalid request: {wrong}")

        def opened(client: Client) -> None:
            client.subscriptions = [{"stream": s} for s in dict.fromkeys(streams)]

        return await self._serve(request, MARKET_FEED, opened, self._on_market_text)

    async def _serve(
        self,
        request: web.Request,
        feed: str,
        opened: Callable[[Client], None],
        on_text: Callable[[Venue, Client, str], Awaitable[None]],
    ) -> web.StreamResponse:
        venue = request.app[VENUE_KEY]
        tasks: list[asyncio.Task[None]] = []
        clients: list[Client] = []

        def on_open(client: Client) -> None:
            opened(client)
            clients.append(client)
            tasks.append(asyncio.create_task(self._run(venue, client)))

        async def text(client: Client, raw: str) -> None:
            await on_text(venue, client, raw)

        try:
            return await serve(request, venue.hub, feed, text, on_open=on_open)
        finally:
            for task in tasks:
                task.cancel()
            for client in clients:
                self.pushes.forget(client)

    async def _run(self, venue: Venue, client: Client) -> None:
        if client.feed == MARKET_FEED:
            await _snapshot(self.pushes, venue, client)
        await _keep(client, venue.config, self.product)

    async def _ignore(self, venue: Venue, client: Client, raw: str) -> None:
        """The user data stream takes no requests."""

    async def _on_market_text(self, venue: Venue, client: Client, raw: str) -> None:
        """Answers SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS."""
        try:
            body = json.loads(raw)
        except ValueError as exc:
            await client.send({"code": 3, "msg": f"Invalid JSON: {exc}"})
            return
        reply = self._request(venue, client, body) if isinstance(body, dict) else None
        await client.send(reply or {"code": 2, "msg": "Invalid request: not a JSON object"})

    def _request(self, venue: Venue, client: Client, body: dict[str, Any]) -> dict[str, Any]:
        method, params, req_id = body.get("method"), body.get("params", []), body.get("id")
        if isinstance(req_id, bool) or not isinstance(req_id, int) or req_id < 0:
            return {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}
        if method == "LIST_SUBSCRIPTIONS":
            return {"result": [s["stream"] for s in client.subscriptions], "id": req_id}
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return {
                "code": 2,
                "msg": f"Invalid request: unknown variant {method!r}, expected one of {_METHODS}"
                if method not in ("SET_PROPERTY", "GET_PROPERTY")
                else f"Invalid request: the simulator does not serve {method}",
            }
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return {"code": 2, "msg": "Invalid request: params must be a list of stream names"}
        wrong = _bad_streams(venue, self.product, params)
        if wrong is not None:
            return {"code": 2, "msg": f"Invalid request: {wrong}"}
        for stream in params:
            if method == "SUBSCRIBE":
                client.subscribe({"stream": stream})
            else:
                client.unsubscribe({"stream": stream})
        return {"result": None, "id": req_id}


def add_routes(app: web.Application, pushes: Pushes) -> None:
    """Mounts /stream and /ws/{name}."""
    endpoints = Endpoints(pushes)
    app.router.add_get(COMBINED_PATH, endpoints.combined)
    app.router.add_get("/ws/{name}", endpoints.raw)
