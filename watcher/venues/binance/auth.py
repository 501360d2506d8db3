"""Binance API keys and request signatures: HMAC-SHA256 (hex) or Ed25519 (base64).

Signed REST calls send `totalParams` (the percent-encoded query string, recvWindow and timestamp
included) with `signature` last; the signature covers exactly the text sent.
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/request-security
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Self
from urllib.parse import quote_plus, urlencode

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from watcher.errors import ConfigError

DEFAULT_RECV_WINDOW = 5_000  # ms: Binance's own default; its maximum is 60,000
MAX_RECV_WINDOW = 60_000


class BinanceCredentials(BaseModel):
    """A Binance API key with its HMAC secret or its Ed25519 private key (PEM); all secret."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr
    secret_key: SecretStr | None = None
    private_key: SecretStr | None = None  # an Ed25519 private key, PEM (PKCS#8)
    private_key_passphrase: SecretStr | None = None

    @model_validator(mode="after")
    def _one_way_to_sign(self) -> Self:
        if (self.secret_key is None) == (self.private_key is None):
            raise ValueError("give exactly one of secret_key (HMAC) or private_key (Ed25519)")
        return self


def query_string(params: Mapping[str, str]) -> str:
    """Return params as Binance signs and receives them: k=v&..., UTF-8 percent-encoded."""
    return urlencode(params)


def hmac_signature(secret: str, payload: str) -> str:
    """Return the hex HMAC-SHA256 of `payload` under `secret`."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed25519_signature(key: Ed25519PrivateKey, payload: str) -> str:
    """Return the base64 Ed25519 signature of `payload`."""
    return base64.b64encode(key.sign(payload.encode())).decode()


def load_ed25519_key(pem: str, passphrase: str | None = None) -> Ed25519PrivateKey:
    """Load an Ed25519 private key from PEM; anything else is a ConfigError (never echoed)."""
    try:
        key = load_pem_private_key(pem.encode(), passphrase.encode() if passphrase else None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError("binance: private_key is not a readable PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"binance: private_key is a {type(key).__name__}, not an Ed25519 key")
    return key


class Signer:
    """Signs payloads with one account's key; its repr shows the key type only."""

    def __init__(self, credentials: BinanceCredentials) -> None:
        self.api_key = credentials.api_key.get_secret_value()
        self._secret = credentials.secret_key
        self._ed25519: Ed25519PrivateKey | None = None
        if credentials.private_key is not None:
            passphrase = credentials.private_key_passphrase
            self._ed25519 = load_ed25519_key(
                credentials.private_key.get_secret_value(),
                passphrase.get_secret_value() if passphrase is not None else None,
            )

    def __repr__(self) -> str:
        return f"Signer({'ed25519' if self._ed25519 is not None else 'hmac'})"

    def sign(self, payload: str) -> str:
        """Return the signature of `payload` (hex for HMAC, base64 for Ed25519)."""
        if self._ed25519 is not None:
            return ed25519_signature(self._ed25519, payload)
        secret = self._secret.get_secret_value() if self._secret is not None else ""
        return hmac_signature(secret, payload)

    def signed_query(self, params: Mapping[str, str], timestamp_ms: int, recv_window: int) -> str:
        """Return the query to send: params, recvWindow, timestamp, then the signature."""
        timing = {"recvWindow": str(recv_window), "timestamp": str(timestamp_ms)}
        payload = query_string({**params, **timing})
        return f"{payload}&signature={quote_plus(self.sign(payload))}"
