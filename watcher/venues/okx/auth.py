"""OKX v5 credentials and signatures (WebSocket login and REST requests).

https://www.okx.com/docs-v5/en/#overview-websocket-login
https://www.okx.com/docs-v5/en/#overview-rest-authentication-signature
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import orjson
from pydantic import BaseModel, ConfigDict, SecretStr

LOGIN_METHOD = "GET"
LOGIN_PATH = "/users/self/verify"


class OkxCredentials(BaseModel):
    """An OKX API key: every part is a secret and never shows in repr, logs or errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret_key: SecretStr
    passphrase: SecretStr


def _hmac_b64(secret: str, message: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def login_sign(secret: str, timestamp: str) -> str:
    """Return the WebSocket login sign: Base64(HMAC-SHA256(secret, ts + GET + verify path))."""
    return _hmac_b64(secret, timestamp + LOGIN_METHOD + LOGIN_PATH)


def login_frame(creds: OkxCredentials, now: float) -> str:
    """Return the login request for the private WebSocket (timestamp in epoch seconds)."""
    timestamp = str(int(now))
    arg = {
        "apiKey": creds.api_key.get_secret_value(),
        "passphrase": creds.passphrase.get_secret_value(),
        "timestamp": timestamp,
        "sign": login_sign(creds.secret_key.get_secret_value(), timestamp),
    }
    return orjson.dumps({"op": "login", "args": [arg]}).decode()


def rest_timestamp(now: float) -> str:
    """Return OKX's REST timestamp: ISO-8601 UTC with milliseconds and a Z."""
    moment = datetime.fromtimestamp(now, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rest_sign(secret: str, timestamp_iso: str, method: str, request_path: str, body: str) -> str:
    """Return OK-ACCESS-SIGN over timestamp + METHOD + path (with query) + the exact body sent."""
    return _hmac_b64(secret, timestamp_iso + method.upper() + request_path + body)
