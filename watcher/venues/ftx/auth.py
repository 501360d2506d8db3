"""FTX (historical) credentials and the WebSocket login frame.

The recipe of docs.ftx.com "Websocket API: Authentication" and of FTX's own sample client
(FtxWebsocketClient._login, copied at gist.github.com/arms22/501f4f8b9b100b0275a00e7002822ddc):
`time` is epoch milliseconds and `sign` is the hex HMAC-SHA256, keyed with the API secret, of
f"{time}websocket_login".
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from pydantic import BaseModel, ConfigDict, SecretStr


class FtxCredentials(BaseModel):
    """An FTX API key, its secret and the optional subaccount (secrets never show in repr)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret_key: SecretStr
    subaccount: str | None = None


def login_sign(secret: str, time_ms: int) -> str:
    """Return the login signature: hex HMAC-SHA256(secret, f"{time_ms}websocket_login")."""
    return hmac.new(
        secret.encode(), f"{time_ms}websocket_login".encode(), hashlib.sha256
    ).hexdigest()


def login_frame(creds: FtxCredentials, time_ms: int) -> str:
    """Return the login request {"op": "login", "args": {key, sign, time[, subaccount]}}."""
    args: dict[str, object] = {
        "key": creds.api_key.get_secret_value(),
        "sign": login_sign(creds.secret_key.get_secret_value(), time_ms),
        "time": time_ms,
    }
    if creds.subaccount:
        args["subaccount"] = creds.subaccount
    return orjson.dumps({"op": "login", "args": args}).decode()
