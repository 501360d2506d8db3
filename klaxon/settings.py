"""Settings of each klaxon process: one pydantic-settings class per process, env prefix KLAXON_.

Secrets are SecretStr and may come from the environment or from files in a secrets directory
(docker secrets: /run/secrets/<field name>, e.g. /run/secrets/klaxon_okx_secret_key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DOCKER_SECRETS = Path("/run/secrets")
EXAMPLES = Path(__file__).resolve().parent.parent / "rules" / "examples"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KLAXON_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    rules: list[Path] = Field(default_factory=lambda: [EXAMPLES / "demo.yaml"])
    # Ticker streams; each is drained by one worker at a time: about one per worker.
    partitions: int = Field(default=4, ge=1, le=4096)
    log_level: str = "INFO"


class WatcherSettings(_Base):
    """`klaxon watch`: one venue, one account."""

    venue: str = "okx"
    account: str = "main"
    okx_api_key: SecretStr | None = None
    okx_secret_key: SecretStr | None = None
    okx_passphrase: SecretStr | None = None
    # None: OKX live, or OKX's demo-trading hosts when okx_demo is set.
    okx_ws_public_url: str | None = None
    okx_ws_private_url: str | None = None
    okx_rest_url: str | None = None
    okx_demo: bool = False
    maxlen: int = Field(default=100_000, ge=1000)


class WorkerSettings(_Base):
    """`klaxon work`: one rq worker evaluating rules and/or delivering notifications."""

    name: str | None = None
    # Queue names (keys.EVALUATE_QUEUE, keys.NOTIFY_QUEUE); both by default.
    queues: list[str] = Field(default_factory=lambda: ["klaxon-evaluate", "klaxon-notify"])


class SimSettings(BaseSettings):
    """`klaxon sim`: the local OKX simulator (test infrastructure, loopback only)."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_SIM_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8765
    api_key: str = "sim-key"
    secret_key: SecretStr = SecretStr("sim-secret")
    passphrase: SecretStr = SecretStr("sim-pass")
    seed: int = 7
    walk: bool = True
    tick_interval: float = 0.5


S = TypeVar("S", bound=BaseSettings)


def load(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment (and docker secrets when mounted), then overrides."""
    secrets = DOCKER_SECRETS if DOCKER_SECRETS.is_dir() else None
    values = {k: v for k, v in overrides.items() if v is not None}
    return cls(_secrets_dir=secrets, **values)
