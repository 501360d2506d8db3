"""Several venues in one simulator, each on its own port with its own state, through the venue
seam: OKX beside a minimal second protocol written here against simulator.protocol alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

import pytest
import websocket
from aiohttp import web

from klaxon.cli import main
from simulator import SimConfig, Simulator
from simulator.connection import Client, serve
from simulator.events import Event
from simulator.market import Instrument, Ticker, now_ms
from simulator.money import fmt
from simulator.protocol import Frame
from simulator.registry import PROTOCOLS
from simulator.venue import VENUE_KEY
from tests.integration.sim_client import _config, _http

pytestmark = pytest.mark.timeout(30)


class Plain:
    """A venue whose one feed takes a market name as a subscription and pushes its last price."""

    name: ClassVar[str] = "plain"
    feeds: ClassVar[Mapping[str, str]] = {"stream": "/stream"}
    default_markets: ClassVar[Mapping[str, str]] = {"BTC/USDT": "100"}

    def __init__(self, config: SimConfig) -> None:
        self.config = config

    def instrument(self, market: str) -> Instrument | None:
        base, _, quote = market.partition("/")
        return Instrument(base, quote, "spot", Decimal("0.1")) if base and quote else None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/stream", self._stream)
        app.router.add_get("/time", self._time)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        async def on_text(client: Client, raw: str) -> None:
            client.subscribe({"market": raw})
            await client.send({"subscribed": raw})

        return await serve(request, request.app[VENUE_KEY].hub, "stream", on_text)

    async def _time(self, request: web.Request) -> web.Response:
        return web.json_response({"now": now_ms()})

    def render(self, client: Client, event: Event) -> list[Frame]:
        if isinstance(event, Ticker) and {"market": event.market} in client.subscriptions:
            return [{"market": event.market, "last": fmt(event.last)}]
        return []

    def fault_body(self, status: int) -> Frame:
        return {"plain": status}


def _post(base_url: str, path: str, body: Frame) -> tuple[int, Frame]:
    status, answer = _http(base_url + path, json.dumps(body))
    return status, answer


def test_two_venues_answer_on_their_own_ports_with_their_own_state() -> None:
    plain_config = SimConfig(venue="plain", walk=False)
    protocols = {**PROTOCOLS, "plain": Plain}
    with Simulator(_config(), plain_config, protocols=protocols) as sim:
        okx, plain = sim.endpoint("okx"), sim.endpoint("plain")
        assert okx.port != plain.port
        assert (sim.base_url, sim.port) == (okx.base_url, okx.port)
        ws = websocket.create_connection(plain.ws_url("stream"), timeout=5)
        try:
            ws.send("BTC/USDT")
            assert json.loads(ws.recv()) == {"subscribed": "BTC/USDT"}
            moved = _post(plain.base_url, "/sim/price", {"market": "BTC/USDT", "price": "101.5"})
            assert moved == (200, {"ok": True, "instId": "BTC/USDT", "market": "BTC/USDT",
                                   "price": "101.5"})  # fmt: skip
            assert json.loads(ws.recv()) == {"market": "BTC/USDT", "last": "101.5"}
        finally:
            ws.close()
        plain_state = _http(plain.base_url + "/sim/state")[1]
        okx_state = _http(okx.base_url + "/sim/state")[1]
        assert (plain_state["venue"], plain_state["prices"]) == ("plain", {"BTC/USDT": "101.5"})
        assert (okx_state["venue"], okx_state["prices"]["BTC-USDT"]) == ("okx", "60000")
        # Each venue's control API knows its own markets and feeds only.
        status, refused = _post(okx.base_url, "/sim/price", {"market": "BTC/USDT", "price": "1"})
        assert status == 400
        assert "market must be one of: BTC-USDT" in refused["error"]
        status, refused = _post(plain.base_url, "/sim/inject", {"feed": "public", "raw": "x"})
        assert (status, refused["error"]) == (400, 'feed must be one of: "stream"')
        # A fault on one venue fails its next REST call in its own words; the other is untouched.
        assert _post(plain.base_url, "/sim/fail", {"mode": "5xx", "count": 1})[0] == 200
        assert _http(okx.base_url + "/api/v5/public/time")[0] == 200
        assert _http(plain.base_url + "/time") == (503, {"plain": 503})
        assert _http(plain.base_url + "/time")[0] == 200


def test_klaxon_sim_names_the_known_venues_for_an_unknown_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sim", "--venue", "okx", "--venue", "nope"]) == 1
    err = capsys.readouterr().err
    assert "KLAXON_SIM_VENUES" in err
    assert f"must name distinct venues of: {', '.join(sorted(PROTOCOLS))}" in err
