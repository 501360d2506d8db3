"""Clients of the Binance simulator for its tests: configs, binance-connector pointed at it, the
watcher's own REST client, the control API, WebSocket helpers and the documented fixtures.

Holds no tests. Signed calls go through binance-connector (the official SDK) or the watcher's
BinanceRest, never through the simulator's own signing code.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket
from binance.spot import Spot
from pydantic import SecretStr

from simulator import SimConfig, Simulator
from tests.integration.sim_client import _http
from watcher.venues.binance import Binance, BinanceCredentials, BinanceRest
from watcher.venues.binanceusdm import BinanceUsdm

DATA = Path(__file__).resolve().parents[1] / "data" / "binance"
KEY, SECRET = "bn-it-key-4c1e", "bn-it-secret-9d2a"
MARKETS = {"BTCUSDT": "60000", "ETHUSDT": "3000"}

Frame = dict[str, Any]


def config(venue: str = "binance", **overrides: Any) -> SimConfig:
    """A Binance simulator whose prices move only through the control API."""
    fields: dict[str, Any] = {
        "venue": venue,
        "api_key": KEY,
        "secret_key": SECRET,
        "markets": MARKETS,
        "walk": False,
    }
    return SimConfig(**(fields | overrides))


def fixture(name: str) -> Any:
    """A documented frame or reply (tests/data/binance)."""
    return json.loads((DATA / name).read_text())


def spot(sim: Simulator, key: str = KEY, secret: str = SECRET, **kwargs: Any) -> Spot:
    """binance-connector's Spot client on the simulated spot venue."""
    return Spot(api_key=key, api_secret=secret, base_url=sim.endpoint("binance").base_url, **kwargs)


def venue(sim: Simulator, name: str = "binance", key: str = KEY, secret: str = SECRET) -> Binance:
    """The watcher's Binance venue (spot or USD-M) on the simulator."""
    endpoint = sim.endpoint(name)
    cls = BinanceUsdm if name == "binanceusdm" else Binance
    credentials = BinanceCredentials(api_key=SecretStr(key), secret_key=SecretStr(secret))
    return cls(
        "main",
        credentials,
        stream_url=f"ws://{endpoint.host}:{endpoint.port}",
        rest_url=endpoint.base_url,
    )


def rest(sim: Simulator, name: str = "binance") -> BinanceRest:
    """The watcher's REST client of a simulated product."""
    return venue(sim, name).trading(timeout=5.0)


def control(sim: Simulator, venue_name: str, path: str, body: Frame | None = None) -> Frame:
    """Calls the control API of one hosted venue; asserts it said yes."""
    url = f"{sim.endpoint(venue_name).base_url}/sim/{path}"
    status, answer = _http(url, None if body is None else json.dumps(body))
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


def connect(sim: Simulator, venue_name: str, path: str) -> websocket.WebSocket:
    """Opens a WebSocket to a path of a hosted venue (pings are answered by recv())."""
    endpoint = sim.endpoint(venue_name)
    return websocket.create_connection(f"ws://{endpoint.host}:{endpoint.port}{path}", timeout=5)


def recv(ws: websocket.WebSocket) -> Frame:
    """Reads one JSON text frame."""
    return json.loads(ws.recv())  # type: ignore[no-any-return]


def recv_until(ws: websocket.WebSocket, match: Callable[[Frame], bool], count: int = 50) -> Frame:
    """Reads frames until one matches."""
    for _ in range(count):
        frame = recv(ws)
        if match(frame):
            return frame
    raise AssertionError(f"no matching frame in {count}")


def event(name: str) -> Callable[[Frame], bool]:
    """Matches a user data event by type."""
    return lambda frame: frame.get("e") == name


def close_code(ws: websocket.WebSocket, timeout: float = 5.0) -> int:
    """Reads frames until the server's close frame and returns its status code (pings are not
    answered: this reads raw frames)."""
    ws.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0])
    raise AssertionError("no close frame")
