"""Clients of the OKX simulator for its tests: config, control API, WS and signed REST helpers.

Signatures are computed with python-okx's own helpers, so the simulator's verification is checked
against an implementation other than its own.
"""

from __future__ import annotations

import json
import struct
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket
from okx import utils as okx_utils
from okx.websocket import WsUtils

from simulator import SimConfig, Simulator
from watcher.venues.okx import Okx, OkxCredentials

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "okx"
KEY, SECRET, PASSPHRASE = "it-key", "it-secret", "it-pass"
UID = "44000000000042"
MARKETS = {"BTC-USDT": "60000", "ETH-USDT": "3000", "BTC-USDT-SWAP": "60010.5"}


Frame = dict[str, Any]


def _fixture(name: str) -> Frame:
    return json.loads((FIXTURES / name).read_text())  # type: ignore[no-any-return]


def _config(**overrides: Any) -> SimConfig:
    fields: dict[str, Any] = {
        "api_key": KEY,
        "secret_key": SECRET,
        "passphrase": PASSPHRASE,
        "markets": MARKETS,
        "walk": False,
        "uid": UID,
    }
    return SimConfig(**(fields | overrides))


def account_env(sim: Simulator, prefix: str = "KLAXON_OKX_") -> dict[str, str]:
    """The settings of an OKX account (variables under `prefix`) on the simulator."""
    return {
        f"{prefix}API_KEY": KEY,
        f"{prefix}SECRET_KEY": SECRET,
        f"{prefix}PASSPHRASE": PASSPHRASE,
        f"{prefix}WS_PUBLIC_URL": sim.ws_public_url,
        f"{prefix}WS_PRIVATE_URL": sim.ws_private_url,
        f"{prefix}REST_URL": sim.base_url,
        f"{prefix}DEMO": "true",
    }


def okx_account(sim: Simulator, account: str = "main") -> Okx:
    """klaxon's OKX venue for `account`, on the simulator with its key."""
    creds = OkxCredentials.model_validate(
        {"api_key": KEY, "secret_key": SECRET, "passphrase": PASSPHRASE}
    )
    return Okx(
        account,
        creds,
        demo=True,
        public_url=sim.ws_public_url,
        private_url=sim.ws_private_url,
        rest_url=sim.base_url,
    )


def _http(url: str, body: str | None = None, headers: dict[str, str] | None = None) -> Any:
    """Returns (status, JSON body) of a GET (no body) or a POST of `body` as is."""
    data = None if body is None else body.encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _control(sim: Simulator, path: str, body: Frame | None = None) -> Frame:
    status, answer = _http(f"{sim.base_url}/sim/{path}", None if body is None else json.dumps(body))
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


def _state(sim: Simulator) -> Frame:
    return _control(sim, "state")


def _connect(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=5)


def _recv(ws: websocket.WebSocket) -> Frame:
    return json.loads(ws.recv())  # type: ignore[no-any-return]


def _recv_until(ws: websocket.WebSocket, match: Callable[[Frame], bool]) -> Frame:
    for _ in range(50):
        frame = _recv(ws)
        if match(frame):
            return frame
    raise AssertionError("no matching frame in 50")


def _channel(name: str) -> Callable[[Frame], bool]:
    return lambda frame: frame.get("arg", {}).get("channel") == name and "data" in frame


def _logged_in(sim: Simulator) -> websocket.WebSocket:
    ws = _connect(sim.ws_private_url)
    ws.send(WsUtils.initLoginParams(False, KEY, PASSPHRASE, SECRET))
    assert _recv(ws)["code"] == "0"
    return ws


def _subscribe(ws: websocket.WebSocket, *args: Frame) -> None:
    ws.send(json.dumps({"op": "subscribe", "args": list(args)}))


def _close_code(ws: websocket.WebSocket) -> int:
    """Reads frames until the server's close frame and returns its status code."""
    for _ in range(50):
        opcode, frame = ws.recv_data_frame(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int(struct.unpack("!H", frame.data[:2])[0])
    raise AssertionError("no close frame")


def _signed_post(
    sim: Simulator,
    path: str,
    body: Frame,
    *,
    key: str = KEY,
    secret: str = SECRET,
    passphrase: str = PASSPHRASE,
    timestamp: str | None = None,
) -> Any:
    """POSTs a request signed by python-okx's helpers (status, JSON body)."""
    stamp = timestamp or okx_utils.get_timestamp()
    text = json.dumps(body)
    sign = okx_utils.sign(okx_utils.pre_hash(stamp, "POST", path, text, False), secret).decode()
    headers = okx_utils.get_header(key, sign, stamp, passphrase, "1", False)
    return _http(sim.base_url + path, text, headers)
