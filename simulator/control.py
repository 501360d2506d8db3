"""The control API (/sim/*) of every venue alike: plain JSON over HTTP, no auth, loopback only.

It acts on the venue whose port it is called on; markets are named as that venue names them.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from aiohttp import web

from simulator.faults import FAULTS_KEY, Fault
from simulator.money import fmt, parse_positive
from simulator.venue import VENUE_KEY, Venue

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_PATH_INTERVAL_S = 3600.0
MAX_HOLD_S = 60.0


class BadControlError(Exception):
    """A control request that cannot be carried out; its text is the 400 response's error."""


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuses /sim/* requests that do not come from a loopback address."""
    if request.path.startswith("/sim/") and not _loopback(request):
        return web.json_response({"error": "the control API answers loopback only"}, status=403)
    return await handler(request)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.text())
    except ValueError as exc:
        raise BadControlError("body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadControlError("body must be a JSON object")
    return body


def _market(venue: Venue, body: dict[str, Any]) -> str:
    # A market as the venue names it; "instId" is the control API's first (OKX-era) key for it.
    key = "market" if "market" in body else "instId"
    name = body.get(key)
    if not isinstance(name, str) or name not in venue.exchange.markets:
        known = ", ".join(sorted(venue.exchange.markets))
        raise BadControlError(f"{key} must be one of: {known}")
    return name


def _price(value: object, where: str) -> Decimal:
    # Floats are refused: a price travels as an exact decimal string (or an integer).
    price = parse_positive(value)
    if price is None:
        raise BadControlError(f'{where} must be a positive decimal string such as "60000.5"')
    return price


def _feed(venue: Venue, body: dict[str, Any]) -> str:
    feed = body.get("feed")
    if feed not in venue.protocol.feeds:
        known = ", ".join(f'"{f}"' for f in venue.protocol.feeds)
        raise BadControlError(f"feed must be one of: {known}")
    return str(feed)


def _ok(**fields: Any) -> web.Response:
    return web.json_response({"ok": True, **fields})


async def set_price(request: web.Request) -> web.Response:
    """POST /sim/price {"market" (or "instId"), "price"}: sets the price now and pushes it."""
    venue, body = request.app[VENUE_KEY], await _json(request)
    market = _market(venue, body)
    price = _price(body.get("price"), "price")
    await venue.set_price(market, price)
    return _ok(instId=market, market=market, price=fmt(price))


async def play_path(request: web.Request) -> web.Response:
    """POST /sim/path {"market" (or "instId"), "prices", "interval"}: plays prices, then holds
    the last."""
    venue, body = request.app[VENUE_KEY], await _json(request)
    market = _market(venue, body)
    raw_prices = body.get("prices")
    if not isinstance(raw_prices, list) or not raw_prices:
        raise BadControlError("prices must be a non-empty list of decimal strings")
    prices = [_price(p, f"prices[{i}]") for i, p in enumerate(raw_prices)]
    interval = body.get("interval")
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise BadControlError("interval must be a number of seconds")
    if not 0 < interval <= MAX_PATH_INTERVAL_S:
        raise BadControlError(f"interval must be > 0 and <= {MAX_PATH_INTERVAL_S:g} seconds")
    venue.play_path(market, prices, float(interval))
    return _ok(instId=market, market=market, count=len(prices))


async def inject(request: web.Request) -> web.Response:
    """POST /sim/inject {"feed", "raw"}: sends a raw text frame to every client of a feed."""
    venue, body = request.app[VENUE_KEY], await _json(request)
    feed = _feed(venue, body)
    raw = body.get("raw")
    if not isinstance(raw, str):
        raise BadControlError("raw must be a string (the text frame to send)")
    clients = venue.hub.all(feed)
    for client in clients:
        await client.send_text(raw)
    return _ok(feed=feed, sent=len(clients))


async def drop(request: web.Request) -> web.Response:
    """POST /sim/drop {"feed", "code"?, "abort"?}: closes (or cuts) a feed's connections."""
    venue, body = request.app[VENUE_KEY], await _json(request)
    feed = _feed(venue, body)
    code = body.get("code", 1001)
    if (
        isinstance(code, bool)
        or not isinstance(code, int)
        or not (code in (1000, 1001, 1011) or 3000 <= code <= 4999)
    ):
        raise BadControlError("code must be 1000, 1001, 1011 or 3000-4999")
    abort = body.get("abort", False)
    if not isinstance(abort, bool):
        raise BadControlError("abort must be true or false")
    dropped = await venue.hub.close_all(feed, code, abort=abort)
    return _ok(feed=feed, dropped=dropped)


async def _toggle(request: web.Request, key: str, feeds: set[str]) -> web.Response:
    """Add the request's feed to `feeds` (`key` true, the default) or take it out."""
    venue, body = request.app[VENUE_KEY], await _json(request)
    feed = _feed(venue, body)
    on = body.get(key, True)
    if not isinstance(on, bool):
        raise BadControlError(f"{key} must be true or false")
    if on:
        feeds.add(feed)
    else:
        feeds.discard(feed)
    return _ok(feed=feed, **{key: sorted(feeds)})


async def pause(request: web.Request) -> web.Response:
    """POST /sim/pause {"feed", "paused"?}: stops (true, the default) or resumes pushing prices
    and account events to a feed's clients; pings are still answered (a silent feed)."""
    return await _toggle(request, "paused", request.app[VENUE_KEY].hub.paused)


async def refuse(request: web.Request) -> web.Response:
    """POST /sim/refuse {"feed", "refused"?}: answers new connections to a feed 503 (true, the
    default) or accepts them again; with /sim/drop, a feed that is down."""
    return await _toggle(request, "refused", request.app[VENUE_KEY].hub.refused)


def _fault(body: dict[str, Any]) -> Fault:
    mode, count = body.get("mode"), body.get("count")
    if mode not in ("5xx", "timeout"):
        raise BadControlError('mode must be "5xx" or "timeout"')
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 1000:
        raise BadControlError("count must be an integer in 1..1000")
    status = body.get("status", 503)
    if isinstance(status, bool) or not isinstance(status, int) or not 500 <= status <= 599:
        raise BadControlError("status must be an integer in 500..599")
    hold = body.get("hold", 3.0)
    if isinstance(hold, bool) or not isinstance(hold, int | float) or not 0 < hold <= MAX_HOLD_S:
        raise BadControlError(f"hold must be > 0 and <= {MAX_HOLD_S:g} seconds")
    execute = body.get("execute", mode == "timeout")
    if not isinstance(execute, bool):
        raise BadControlError("execute must be true or false")
    path = body.get("path", "")
    if not isinstance(path, str) or (path and (path[:1] != "/" or path.startswith("/sim/"))):
        raise BadControlError('path must be a REST path of the venue such as "/api/v5/trade/order"')
    method = body.get("method", "")
    if method not in ("", "GET", "POST"):
        raise BadControlError('method must be "GET" or "POST"')
    return Fault(str(mode), count, execute, status, float(hold), path, str(method))


async def fail(request: web.Request) -> web.Response:
    """POST /sim/fail {"mode", "count", "status"?, "hold"?, "execute"?, "path"?, "method"?}:
    fails the next `count` REST calls (to `path`, with `method`) with a 5xx, or answers them
    after `hold` s (a client timeout); `execute` carries each call out first (default: only
    for timeouts). {"clear": true} drops every pending fault."""
    body = await _json(request)
    faults = request.app[FAULTS_KEY]
    if body.get("clear") is True:
        faults.pending.clear()
    else:
        faults.pending.append(_fault(body))
    return _ok(pending=[f.describe() for f in faults.pending])


async def state(request: web.Request) -> web.Response:
    """GET /sim/state: prices, pending orders, positions, clients and their subscriptions."""
    return web.json_response(request.app[VENUE_KEY].state())


def _guarded(handler: Handler) -> Handler:
    async def run(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadControlError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return run


def add_routes(app: web.Application) -> None:
    """Mounts the control API under /sim/."""
    app.router.add_post("/sim/price", _guarded(set_price))
    app.router.add_post("/sim/path", _guarded(play_path))
    app.router.add_post("/sim/inject", _guarded(inject))
    app.router.add_post("/sim/drop", _guarded(drop))
    app.router.add_post("/sim/pause", _guarded(pause))
    app.router.add_post("/sim/refuse", _guarded(refuse))
    app.router.add_post("/sim/fail", _guarded(fail))
    app.router.add_get("/sim/state", state)
