"""OKX request authentication, verified with this package's own code (never the watcher's)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from simulator.config import SimConfig

# OKX accepts a request whose timestamp is within 30 s of its own clock.
MAX_SKEW_S = 30.0
_ISO_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
# Epoch seconds, optionally with a fraction; 13 digits (milliseconds, a common slip) is refused.
_EPOCH_S = re.compile(r"\d{1,12}(?:\.\d{1,6})?")


@dataclass(frozen=True)
class AuthError:
    """Why a request was refused: OKX's code and message (never any credential)."""

    code: str
    msg: str


def hmac_b64(secret: str, message: str) -> str:
    """Returns Base64(HMAC-SHA256(secret, message)), OKX's signature encoding."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check_rest(
    config: SimConfig,
    headers: Mapping[str, str],
    method: str,
    request_path: str,
    body: str,
    now: float,
) -> AuthError | None:
    """Checks OK-ACCESS-* headers of a private REST request; None when it is authentic."""
    key = headers.get("OK-ACCESS-KEY", "")
    sign = headers.get("OK-ACCESS-SIGN", "")
    stamp = headers.get("OK-ACCESS-TIMESTAMP", "")
    passphrase = headers.get("OK-ACCESS-PASSPHRASE", "")
    if not key:
        return AuthError("50103", "Request header OK-ACCESS-KEY cannot be empty.")
    if not passphrase:
        return AuthError("50104", "Request header OK-ACCESS-PASSPHRASE cannot be empty.")
    if not sign:
        return AuthError("50106", "Request header OK-ACCESS-SIGN cannot be empty.")
    if not stamp:
        return AuthError("50107", "Request header OK-ACCESS-TIMESTAMP cannot be empty.")
    if not _ISO_MS.fullmatch(stamp):
        return AuthError("50112", "Invalid OK-ACCESS-TIMESTAMP.")
    try:
        sent = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return AuthError("50112", "Invalid OK-ACCESS-TIMESTAMP.")
    if abs(now - sent.timestamp()) > MAX_SKEW_S:
        return AuthError("50102", "Timestamp request expired.")
    if not _same(key, config.api_key):
        return AuthError("50111", "Invalid OK-ACCESS-KEY.")
    if not _same(passphrase, config.passphrase):
        return AuthError("50105", "Invalid OK-ACCESS-PASSPHRASE.")
    expected = hmac_b64(config.secret_key, stamp + method.upper() + request_path + body)
    if not _same(sign, expected):
        return AuthError("50113", "Invalid Sign")
    return None


def check_login(config: SimConfig, arg: Mapping[str, object], now: float) -> AuthError | None:
    """Checks one WS login arg (apiKey, passphrase, timestamp in epoch seconds, sign)."""
    key, passphrase, sign = arg.get("apiKey"), arg.get("passphrase"), arg.get("sign")
    raw_stamp = arg.get("timestamp")
    if isinstance(raw_stamp, int) and not isinstance(raw_stamp, bool):
        stamp = str(raw_stamp)
    elif isinstance(raw_stamp, str):
        stamp = raw_stamp
    else:
        return AuthError("60004", "Invalid timestamp")
    if not _EPOCH_S.fullmatch(stamp):
        return AuthError("60004", "Invalid timestamp")
    if abs(now - float(stamp)) > MAX_SKEW_S:
        return AuthError("60006", "Timestamp request expired")
    if not isinstance(key, str) or not _same(key, config.api_key):
        return AuthError("60005", "Invalid OK-ACCESS-KEY")
    if not isinstance(passphrase, str) or not _same(passphrase, config.passphrase):
        return AuthError("60024", "Wrong passphrase")
    expected = hmac_b64(config.secret_key, stamp + "GET" + "/users/self/verify")
    if not isinstance(sign, str) or not _same(sign, expected):
        return AuthError("60009", "Login failed.")
    return None
