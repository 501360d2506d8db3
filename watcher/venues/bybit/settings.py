"""A Bybit account's settings: KLAXON_BYBIT_* (or the prefix its KLAXON_ACCOUNTS entry gives).

Secrets may also be files in the secrets directory named after the variable in lower case
(docker secrets: /run/secrets/klaxon_bybit_secret_key).
"""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from watcher.venues import VenueSettings
from watcher.venues.bybit.auth import BybitCredentials


class BybitSettings(VenueSettings):
    """One Bybit HMAC API key (both parts, or none for market data only) and its endpoints."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_BYBIT_")

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    # None: Bybit live, testnet, or demo trading (its own private and REST hosts).
    ws_public_url: str | None = None  # the base: /<category> is appended (.../v5/public/linear)
    ws_private_url: str | None = None
    rest_url: str | None = None
    testnet: bool = False
    demo: bool = False

    @model_validator(mode="after")
    def _both_or_none(self) -> Self:
        if (self.api_key is None) != (self.secret_key is None):
            raise ValueError("set both API_KEY and SECRET_KEY (or neither, for market data only)")
        return self

    def credentials(self) -> BybitCredentials | None:
        """Return the API key's two parts, or None when none is set."""
        if self.api_key is None or self.secret_key is None:
            return None
        return BybitCredentials(api_key=self.api_key, secret_key=self.secret_key)
