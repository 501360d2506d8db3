"""An OKX account's settings: KLAXON_OKX_* (or the prefix its KLAXON_ACCOUNTS entry gives).

Secrets may also be files in the secrets directory named after the variable in lower case
(docker secrets: /run/secrets/klaxon_okx_secret_key).
"""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from watcher.venues import VenueSettings
from watcher.venues.okx.auth import OkxCredentials


class OkxSettings(VenueSettings):
    """One OKX API key (all three parts, or none for market data only) and its endpoints."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_OKX_")

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    passphrase: SecretStr | None = None
    # None: OKX live, or OKX's demo-trading hosts when `demo` is set.
    ws_public_url: str | None = None
    ws_private_url: str | None = None
    rest_url: str | None = None
    demo: bool = False

    @model_validator(mode="after")
    def _all_or_none(self) -> Self:
        parts = (self.api_key, self.secret_key, self.passphrase)
        if any(p is None for p in parts) and any(p is not None for p in parts):
            raise ValueError(
                "set all of API_KEY, SECRET_KEY and PASSPHRASE (or none, for market data only)"
            )
        return self

    def credentials(self) -> OkxCredentials | None:
        """Return the API key's three parts, or None when none is set."""
        if self.api_key is None or self.secret_key is None or self.passphrase is None:
            return None
        return OkxCredentials(
            api_key=self.api_key, secret_key=self.secret_key, passphrase=self.passphrase
        )
