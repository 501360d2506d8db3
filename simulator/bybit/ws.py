"""Bybit's WebSocket endpoints: /v5/public/spot, /v5/public/linear and /v5/private.

Every stream answers {"op": "ping"} with its pong. Public streams take `tickers.{symbol}`
subscriptions (spot at most 10 args a request) and send each new subscriber a snapshot. The
private stream takes `op: auth`, then order, execution, position and wallet topics (all-in-one
or categorised, not both in one request); it is cut after 10 minutes without a frame, or after
`?max_active_time=` (30s..600s, e.g. 1m), as Bybit does (https://bybit-exchange.github.io/docs/v5/ws/connect).
Refusals say "Params Error" (a bad request), "Request not authorized" (private topics before a
successful auth), as Bybit is seen to.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

from simulator.bybit import replies
from simulator.bybit.names import CATEGORIES, market_name
from simulator.bybit.push import FEEDS, PRIVATE_TOPICS, Pushes
from simulator.bybit.signing import NOT_AUTHORIZED, PARAMS_ERROR, check_auth
from simulator.connection import Client, IdleClose, serve
from simulator.market import now_ms
from simulator.venue import VENUE_KEY, Venue

PUSHES_KEY = web.AppKey("bybit_pushes", Pushes)
MAX_SPOT_ARGS = 10
PRIVATE_IDLE_S = 600.0
_ACTIVE = re.compile(r"^(\d{1,3})([sm])$")

OnRequest = Callable[[Venue, Pushes, Client, replies.Request], Awaitable[None]]


def private_idle(max_active_time: str) -> float:
    """Returns how long a silent private connection lives: ?max_active_time (30s..600s), else
    10 minutes."""
    found = _ACTIVE.match(max_active_time)
    if found is None:
        return PRIVATE_IDLE_S
    seconds = int(found[1]) * (60 if found[2] == "m" else 1)
    return float(seconds) if 30 <= seconds <= 600 else PRIVATE_IDLE_S


async def _public(venue: Venue, pushes: Pushes, client: Client, req: replies.Request) -> None:
    feed, conn_id = client.feed, client.conn_id
    if req.op not in ("subscribe", "unsubscribe"):
        await client.send(replies.refused(feed, conn_id, req.op, req.req_id, PARAMS_ERROR))
        return
    category = feed.removeprefix("public-")
    markets = []
    for arg in req.args:
        topic, _, symbol = arg.partition(".") if isinstance(arg, str) else ("", "", "")
        markets.append(market_name(category, symbol) if topic == "tickers" else "")
    too_many = category == "spot" and len(req.args) > MAX_SPOT_ARGS
    if not req.args or too_many or not all(m in venue.exchange.markets for m in markets):
        await client.send(replies.refused(feed, conn_id, req.op, req.req_id, PARAMS_ERROR))
        return
    await client.send(replies.subscribed(feed, conn_id, req.op, req.req_id))
    for arg, market in zip(req.args, markets, strict=True):
        if req.op == "unsubscribe":
            client.unsubscribe({"topic": arg})
            pushes.tickers.forget(client, market)
            continue
        client.subscribe({"topic": arg})
        await client.send(pushes.tickers.snapshot(client, venue.exchange.ticker(market)))


def _private_topics(args: list[object]) -> list[str] | None:
    """Returns the private topics of a request, or None when one is not one Bybit serves or
    all-in-one and categorised topics are mixed."""
    topics: list[str] = []
    kinds = set()
    for arg in args:
        if not isinstance(arg, str):
            return None
        base, _, category = arg.partition(".")
        if base not in PRIVATE_TOPICS or (category and category not in CATEGORIES):
            return None
        if base == "wallet" and category:
            return None
        kinds.add(bool(category))
        topics.append(arg)
    return topics if topics and len(kinds) == 1 else None


async def _private(venue: Venue, pushes: Pushes, client: Client, req: replies.Request) -> None:
    feed, conn_id = client.feed, client.conn_id
    if req.op == "auth":
        why = check_auth(venue.config, req.args, now_ms())
        client.logged_in = why is None
        if why is None:
            await client.send(replies.ack(feed, conn_id, "auth", req.req_id))
        else:
            await client.send(replies.refused(feed, conn_id, "auth", req.req_id, why))
        return
    if req.op not in ("subscribe", "unsubscribe"):
        await client.send(replies.refused(feed, conn_id, req.op, req.req_id, PARAMS_ERROR))
        return
    if not client.logged_in:
        await client.send(replies.refused(feed, conn_id, req.op, req.req_id, NOT_AUTHORIZED))
        return
    topics = _private_topics(req.args)
    if topics is None:
        await client.send(replies.refused(feed, conn_id, req.op, req.req_id, PARAMS_ERROR))
        return
    for topic in topics:
        if req.op == "subscribe":
            client.subscribe({"topic": topic})
        else:
            client.unsubscribe({"topic": topic})
    # Private topics push on changes only: no snapshot follows a subscribe.
    await client.send(replies.subscribed(feed, conn_id, req.op, req.req_id))


def _endpoint(
    feed: str, on_request: OnRequest
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        venue, pushes = request.app[VENUE_KEY], request.app[PUSHES_KEY]

        async def text(client: Client, raw: str) -> None:
            req = replies.parse(raw)
            if req is None:
                await client.send(replies.refused(feed, client.conn_id, "", None, PARAMS_ERROR))
            elif req.op == "ping":
                await client.send(replies.pong(feed, client.conn_id, req.req_id))
            else:
                await on_request(venue, pushes, client, req)

        idle = None
        if feed == "private":
            timeout = private_idle(request.query.get("max_active_time", ""))
            idle = IdleClose(timeout, 1000, b"")
        return await serve(request, venue.hub, feed, text, None, idle)

    return handle


def add_routes(app: web.Application, pushes: Pushes) -> None:
    """Mounts the public feeds and the private one on their Bybit paths."""
    app[PUSHES_KEY] = pushes
    for feed, path in FEEDS.items():
        app.router.add_get(path, _endpoint(feed, _private if feed == "private" else _public))
