"""Bybit v5 request authentication, verified with this package's own code (never the watcher's).

REST (https://bybit-exchange.github.io/docs/v5/guide#authentication): X-BAPI-SIGN is the hex
HMAC-SHA256 of timestamp + API key + recv window + (the query string of a GET, exactly as sent;
the body of a POST, exactly as sent); a request is taken when
server_time - recv_window <= timestamp < server_time + 1000 (else retCode 10002).
WebSocket (https://bybit-exchange.github.io/docs/v5/ws/connect#authentication): `op: auth` with
args [API key, expires (ms), hex HMAC-SHA256 of "GET/realtime" + expires]; expired is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from simulator.config import SimConfig

DEFAULT_RECV_WINDOW_MS = 5_000
AHEAD_MS = 1_000  # how far ahead of the server's clock a timestamp may be
# Bybit's replies to a refused auth, as seen in the wild (Bybit documents none): "Params Error"
# for a malformed or expired request, "Request not authorized" for a wrong key or signature.
# https://github.com/tmatic-trading/crypto-platform/issues/153 (Params Error, op auth)
# https://github.com/nautechsystems/nautilus_trader/pull/2101 (Request not authorized)
PARAMS_ERROR = "Params Error"
NOT_AUTHORIZED = "Request not authorized"


@dataclass(frozen=True)
class AuthError:
    """Why a REST request was refused: Bybit's retCode and retMsg (never any credential)."""

    code: int
    msg: str


BAD_KEY = AuthError(10003, "API key is invalid.")
BAD_TIME = AuthError(10002, "The request time exceeds the time window range.")
BAD_SIGN = AuthError(10004, "Error sign, please check your signature generation algorithm.")


def hmac_hex(secret: str, message: str) -> str:
    """Returns the lower-case hex HMAC-SHA256 of `message`, Bybit's HMAC signature encoding."""
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _millis(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 16 else None


def check_rest(
    config: SimConfig, headers: Mapping[str, str], payload: str, now_ms: int
) -> AuthError | None:
    """Checks the X-BAPI-* headers of a signed request over `payload`; None when authentic."""
    key = headers.get("X-BAPI-API-KEY", "")
    stamp = headers.get("X-BAPI-TIMESTAMP", "")
    window_text = headers.get("X-BAPI-RECV-WINDOW", "")
    sign = headers.get("X-BAPI-SIGN", "")
    if not key or not _same(key, config.api_key):
        return BAD_KEY
    sent = _millis(stamp)
    window = _millis(window_text) if window_text else DEFAULT_RECV_WINDOW_MS
    if sent is None or window is None or not now_ms - window <= sent < now_ms + AHEAD_MS:
        return BAD_TIME
    expected = hmac_hex(config.secret_key, f"{stamp}{key}{window_text}{payload}")
    if not sign or not _same(sign, expected):
        return BAD_SIGN
    return None


def check_auth(config: SimConfig, args: Sequence[object], now_ms: int) -> str | None:
    """Checks the args of a WebSocket auth request; returns the ret_msg refusing it, or None."""
    if len(args) != 3:
        return PARAMS_ERROR
    key, raw_expires, sign = args
    if isinstance(raw_expires, bool):
        return PARAMS_ERROR
    if isinstance(raw_expires, int):
        expires = str(raw_expires)
    elif isinstance(raw_expires, str) and _millis(raw_expires) is not None:
        expires = raw_expires
    else:
        return PARAMS_ERROR
    if int(expires) <= now_ms:
        return PARAMS_ERROR  # expired
    if not isinstance(key, str) or not _same(key, config.api_key):
        return NOT_AUTHORIZED
    expected = hmac_hex(config.secret_key, f"GET/realtime{expires}")
    if not isinstance(sign, str) or not _same(sign, expected):
        return NOT_AUTHORIZED
    return None
