"""Binance request authentication, verified with this package's own code (never the watcher's).

SIGNED endpoints (TRADE, USER_DATA) carry `timestamp`, optionally `recvWindow`, and `signature`
last, in the query string or the form body; the signature covers `totalParams`, the query string
followed by the body, as sent (percent-encoded), without the signature itself. HMAC keys sign
with hex HMAC-SHA256 of the secret (case does not matter), Ed25519 keys with base64.
USER_STREAM endpoints (listen keys) need the API key header only.
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qsl

from simulator.binance.product import Reject
from simulator.config import SimConfig

MAX_RECV_WINDOW = 60_000  # ms
DEFAULT_RECV_WINDOW = 5_000
MAX_AHEAD_MS = 1_000  # a timestamp may lead the server's clock by less than this
_SIGNATURE = "signature="


def hmac_hex(secret: str, payload: str) -> str:
    """Returns hex(HMAC-SHA256(secret, payload)), Binance's HMAC signature."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def mandatory(name: str) -> Reject:
    """Returns -1102 naming a parameter that was not sent (or sent empty or malformed)."""
    return Reject(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def params_of(query: str, body: str) -> dict[str, str] | Reject:
    """Returns the request's parameters (the query string's win over the body's); a name sent
    twice in one of them is refused (-1101)."""
    merged: dict[str, str] = {}
    for text in (body, query):
        seen: set[str] = set()
        for name, value in parse_qsl(text, keep_blank_values=True):
            if name in seen:
                return Reject(400, -1101, "Duplicate values for a parameter detected.")
            seen.add(name)
            merged[name] = value
    return merged


def check_key(config: SimConfig, headers: Mapping[str, str]) -> Reject | None:
    """Checks the X-MBX-APIKEY header (every endpoint that is not public)."""
    key = headers.get("X-MBX-APIKEY", "")
    if not key:
        return Reject(401, -2014, "API-key format invalid.")
    if not hmac.compare_digest(key.encode(), config.api_key.encode()):
        return Reject(401, -2015, "Invalid API-key, IP, or permissions for action.")
    return None


def _unsigned(text: str) -> str | None:
    """Returns `text` without its last parameter when that is the signature, else None."""
    head, _, last = text.rpartition("&")
    return head if last.startswith(_SIGNATURE) else None


def signed_payload(query: str, body: str) -> str | None:
    """Returns totalParams without the signature, or None when the signature is not the last
    parameter of the body (or, with no body, of the query string)."""
    if body:
        rest = _unsigned(body)
        return None if rest is None else query + rest
    rest = _unsigned(query)
    return rest


def _ms(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 16 else None


def _timing(params: Mapping[str, str], now_ms: int) -> Reject | None:
    stamp = _ms(params.get("timestamp", ""))
    if stamp is None:
        return mandatory("timestamp")
    if stamp > 10**14:  # microseconds (spot accepts them)
        stamp //= 1000
    window_text = params.get("recvWindow", str(DEFAULT_RECV_WINDOW))
    window = _ms(window_text.split(".", 1)[0]) if window_text else None
    if window is None or window > MAX_RECV_WINDOW:
        return Reject(400, -1130, "Data sent for parameter 'recvWindow' is not valid.")
    if stamp >= now_ms + MAX_AHEAD_MS:
        return Reject(
            400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now_ms - stamp > window:
        return Reject(400, -1021, "Timestamp for this request is outside of the recvWindow.")
    return None


def _verified(config: SimConfig, payload: str, signature: str) -> bool:
    if config.ed25519_public_key:
        return _ed25519_verified(config.ed25519_public_key, payload, signature)
    expected = hmac_hex(config.secret_key, payload)
    return hmac.compare_digest(signature.lower().encode(), expected.encode())


def _ed25519_verified(pem: str, payload: str, signature: str) -> bool:
    # cryptography comes with the `sim` extra: imported only when an Ed25519 key is configured.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("SimConfig.ed25519_public_key is not an Ed25519 public key")
    try:
        key.verify(base64.b64decode(signature, validate=True), payload.encode())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def check_signed(
    config: SimConfig, query: str, body: str, params: Mapping[str, str], now_ms: int
) -> Reject | None:
    """Checks a SIGNED request's timing and signature (after its API key); None: authentic."""
    signature = params.get("signature", "")
    if not signature:
        return mandatory("signature")
    refused = _timing(params, now_ms)
    if refused is not None:
        return refused
    payload = signed_payload(query, body)
    if payload is None or not _verified(config, payload, signature):
        return Reject(400, -1022, "Signature for this request is not valid.")
    return None
