"""Clients of the Bybit simulator for its tests: its config, klaxon's Bybit account on it, and
WebSocket helpers whose auth is signed with pybit's own helper (not the simulator's, not ours).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import websocket
from pybit._http_manager import generate_signature

from simulator import SimConfig, Simulator
from simulator.server import Endpoint
from watcher.venues.bybit import Bybit, BybitCredentials

KEY, SECRET = "bybit-it-key", "bybit-it-secret"
UID = "44000000000077"
MARKETS = {"linear:BTCUSDT": "60000", "linear:ETHUSDT": "3000", "spot:BTCUSDT": "60000"}
CREDS = BybitCredentials(api_key=KEY, secret_key=SECRET)

Frame = dict[str, Any]


def bybit_config(**overrides: Any) -> SimConfig:
    """The Bybit simulator's config: the test key, fixed prices (no random walk)."""
    fields: dict[str, Any] = {
        "venue": "bybit",
        "api_key": KEY,
        "secret_key": SECRET,
        "markets": MARKETS,
        "walk": False,
        "uid": UID,
    }
    return SimConfig(**(fields | overrides))


def public_base(endpoint: Endpoint) -> str:
    """The base of the public stream URLs (klaxon appends /<category>)."""
    return endpoint.ws_url("public-linear").removesuffix("/linear")


def bybit_env(sim: Simulator, prefix: str = "KLAXON_BYBIT_") -> dict[str, str]:
    """The settings of a Bybit account (variables under `prefix`) on the simulator."""
    endpoint = sim.endpoint("bybit")
    return {
        f"{prefix}API_KEY": KEY,
        f"{prefix}SECRET_KEY": SECRET,
        f"{prefix}WS_PUBLIC_URL": public_base(endpoint),
        f"{prefix}WS_PRIVATE_URL": endpoint.ws_url("private"),
        f"{prefix}REST_URL": endpoint.base_url,
    }


def bybit_account(sim: Simulator, account: str = "main") -> Bybit:
    """klaxon's Bybit venue for `account`, on the simulator with its key."""
    endpoint = sim.endpoint("bybit")
    return Bybit(
        account,
        CREDS,
        public_url=public_base(endpoint),
        private_url=endpoint.ws_url("private"),
        rest_url=endpoint.base_url,
    )


def auth_frame(secret: str = SECRET, key: str = KEY, expires_in_ms: int = 5_000) -> str:
    """An auth request signed with pybit's helper."""
    expires = int(time.time() * 1000) + expires_in_ms
    sign = generate_signature(False, secret, f"GET/realtime{expires}")
    return json.dumps({"op": "auth", "args": [key, expires, sign]})


def connect(url: str) -> websocket.WebSocket:
    """A plain websocket-client connection."""
    return websocket.create_connection(url, timeout=5)


def recv_raw(ws: websocket.WebSocket) -> str:
    """The next text frame as sent."""
    raw = ws.recv()
    assert isinstance(raw, str)
    return raw


def recv(ws: websocket.WebSocket) -> Frame:
    """The next frame, decoded."""
    return json.loads(recv_raw(ws))  # type: ignore[no-any-return]


def recv_until(ws: websocket.WebSocket, match: Callable[[Frame], bool]) -> str:
    """The first of the next 50 frames that matches, as sent."""
    for _ in range(50):
        raw = recv_raw(ws)
        if match(json.loads(raw)):
            return raw
    raise AssertionError("no matching frame in 50")


def logged_in(endpoint: Endpoint, *topics: str) -> websocket.WebSocket:
    """A private connection, authenticated and subscribed to `topics`."""
    ws = connect(endpoint.ws_url("private"))
    ws.send(auth_frame())
    assert recv(ws)["success"] is True
    if topics:
        ws.send(json.dumps({"op": "subscribe", "args": list(topics)}))
        assert recv(ws)["success"] is True
    return ws


def shape(value: Any) -> Any:
    """A frame's shape: every key and the JSON type of its value, nested; a map keyed by coin
    (cumFeeDetail) is one "<COIN>" key."""
    if isinstance(value, dict):
        if value and all(str(key).isupper() for key in value):
            return {"<COIN>": shape(next(iter(value.values())))}
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def unlike(ours: Any, documented: Any, where: str = "") -> list[str]:
    """Where a frame's shape differs from a documented frame's (an empty list matches any)."""
    mine, theirs = shape(ours), shape(documented)
    return _unlike(mine, theirs, where or "frame")


def _unlike(mine: Any, theirs: Any, where: str) -> list[str]:
    if isinstance(mine, dict) and isinstance(theirs, dict):
        found = [f"{where}.{k}: missing" for k in theirs if k not in mine]
        found += [f"{where}.{k}: not documented" for k in mine if k not in theirs]
        for key in mine.keys() & theirs.keys():
            found += _unlike(mine[key], theirs[key], f"{where}.{key}")
        return found
    if isinstance(mine, list) and isinstance(theirs, list):
        return _unlike(mine[0], theirs[0], f"{where}[0]") if mine and theirs else []
    return [] if mine == theirs else [f"{where}: {mine} where the docs have {theirs}"]
