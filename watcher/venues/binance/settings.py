"""A Binance spot account's settings: KLAXON_BINANCE_* (or the prefix its KLAXON_ACCOUNTS entry
gives); USD-M futures reads the same fields from KLAXON_BINANCEUSDM_*.

Secrets may also be files in the secrets directory named after the variable in lower case
(docker secrets: /run/secrets/klaxon_binance_private_key holds a PEM key's lines as they are).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from watcher.venues import VenueSettings
from watcher.venues.binance.auth import DEFAULT_RECV_WINDOW, MAX_RECV_WINDOW, BinanceCredentials

MAX_STREAMS_PER_CONNECTION = 1024  # Binance's limit
STREAMS_PER_CONNECTION = 200  # ours: a smaller URL, and a lost connection costs less


class BinanceSettings(VenueSettings):
    """One Binance spot API key (an HMAC secret or an Ed25519 private key, or no key for market
    data only) and its endpoints."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_BINANCE_", extra="ignore")

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None  # HMAC
    private_key: SecretStr | None = None  # Ed25519, PEM (PKCS#8)
    private_key_passphrase: SecretStr | None = None
    # None: Binance live (the spot host answers key permissions for USD-M keys too).
    stream_url: str | None = None
    rest_url: str | None = None
    permissions_url: str | None = None
    streams_per_connection: int = Field(
        default=STREAMS_PER_CONNECTION, ge=1, le=MAX_STREAMS_PER_CONNECTION
    )
    recv_window: int = Field(default=DEFAULT_RECV_WINDOW, ge=1, le=MAX_RECV_WINDOW)  # ms

    @model_validator(mode="after")
    def _a_key_signs_one_way(self) -> Self:
        ways = (self.secret_key is not None) + (self.private_key is not None)
        if self.api_key is None and ways:
            raise ValueError("set API_KEY with its SECRET_KEY or PRIVATE_KEY")
        if self.api_key is not None and ways != 1:
            raise ValueError("set API_KEY with one of SECRET_KEY (HMAC) or PRIVATE_KEY (Ed25519)")
        return self

    def credentials(self) -> BinanceCredentials | None:
        """Return the API key and how it signs, or None when no key is set."""
        if self.api_key is None:
            return None
        return BinanceCredentials(
            api_key=self.api_key,
            secret_key=self.secret_key,
            private_key=self.private_key,
            private_key_passphrase=self.private_key_passphrase,
        )
