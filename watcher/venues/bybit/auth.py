"""Bybit v5 credentials and signatures (private WebSocket auth and REST requests), HMAC keys.

https://bybit-exchange.github.io/docs/v5/ws/connect#authentication
https://bybit-exchange.github.io/docs/v5/guide#authentication
"""

from __future__ import annotations

import hashlib
import hmac

import orjson
from pydantic import BaseModel, ConfigDict, SecretStr

# How far ahead of now an auth frame's `expires` lies. The docs and pybit use 1 s; a little
# more spares a connection whose clock runs a second or two behind Bybit's.
AUTH_EXPIRES_MS = 5_000
# X-BAPI-RECV-WINDOW: Bybit refuses a request unless
# server_time - recv_window <= timestamp < server_time + 1000 (retCode 10002).
RECV_WINDOW_MS = 5_000


class BybitCredentials(BaseModel):
    """A Bybit HMAC API key: both parts are secrets and never show in repr, logs or errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret_key: SecretStr


def _hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def auth_sign(secret: str, expires_ms: int) -> str:
    """Return the WebSocket auth signature: hex HMAC-SHA256(secret, "GET/realtime" + expires)."""
    return _hmac_hex(secret, f"GET/realtime{expires_ms}")


def auth_frame(creds: BybitCredentials, now: float) -> str:
    """Return the private WebSocket's auth request, valid until AUTH_EXPIRES_MS after `now`."""
    expires = int(now * 1000) + AUTH_EXPIRES_MS
    key = creds.api_key.get_secret_value()
    signature = auth_sign(creds.secret_key.get_secret_value(), expires)
    return orjson.dumps({"op": "auth", "args": [key, expires, signature]}).decode()


def rest_sign(secret: str, timestamp_ms: int, api_key: str, recv_window: int, payload: str) -> str:
    """Return X-BAPI-SIGN: hex HMAC-SHA256 of timestamp + key + recv window + query or body."""
    return _hmac_hex(secret, f"{timestamp_ms}{api_key}{recv_window}{payload}")


def rest_headers(creds: BybitCredentials, timestamp_ms: int, payload: str) -> dict[str, str]:
    """Return the X-BAPI-* headers of a request whose query string or body is `payload`."""
    key = creds.api_key.get_secret_value()
    sign = rest_sign(
        creds.secret_key.get_secret_value(), timestamp_ms, key, RECV_WINDOW_MS, payload
    )
    return {
        "X-BAPI-API-KEY": key,
        "X-BAPI-TIMESTAMP": str(timestamp_ms),
        "X-BAPI-RECV-WINDOW": str(RECV_WINDOW_MS),
        "X-BAPI-SIGN": sign,
        "X-BAPI-SIGN-TYPE": "2",  # HMAC-SHA256, as pybit sends it
    }
