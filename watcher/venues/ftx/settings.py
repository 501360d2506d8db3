"""An FTX (historical) account's settings: KLAXON_FTX_* (or its KLAXON_ACCOUNTS prefix).

FTX closed in November 2022: there is no default endpoint; set WS_URL to the simulator's.
"""

from __future__ import annotations

from typing import Self

from pydantic import SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from watcher.venues import VenueSettings
from watcher.venues.ftx.auth import FtxCredentials


class FtxSettings(VenueSettings):
    """One FTX API key (both parts, or none for market data only), subaccount and endpoint."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_FTX_")

    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    subaccount: str | None = None
    ws_url: str | None = None  # None: wss://ftx.com/ws/ (closed since November 2022)

    @model_validator(mode="after")
    def _both_or_none(self) -> Self:
        if (self.api_key is None) != (self.secret_key is None):
            raise ValueError("set both API_KEY and SECRET_KEY (or neither, for market data only)")
        return self

    def credentials(self) -> FtxCredentials | None:
        """Return the API key's parts and subaccount, or None when no key is set."""
        if self.api_key is None or self.secret_key is None:
            return None
        return FtxCredentials(
            api_key=self.api_key, secret_key=self.secret_key, subaccount=self.subaccount
        )
