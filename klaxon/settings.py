"""Settings of each klaxon process: one pydantic-settings class per process, env prefix KLAXON_.

Secrets are SecretStr and may come from the environment or from files in a secrets directory
(docker secrets: /run/secrets/<field name>, e.g. /run/secrets/klaxon_okx_secret_key). Each
venue's settings (KLAXON_OKX_*, ...) are its own model, in its package; KLAXON_ACCOUNTS says
which venue accounts there are and where each one's settings are read. The Redis URL is a secret
too: it may carry a password (print it with klaxon.logs.masked_url).
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from watcher import keys
from watcher.errors import ConfigError
from watcher.venues import DEFAULT_VENUE, VENUES

DOCKER_SECRETS = Path("/run/secrets")
EXAMPLES = Path(__file__).resolve().parent.parent / "rules" / "examples"


# As rules.base.ACCOUNT: the label is part of Redis stream names and of fill rules' filters.
_ACCOUNT = r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}"
_PREFIX = r"[A-Z][A-Z0-9_]*_"


class AccountRef(BaseModel):
    """One entry of KLAXON_ACCOUNTS: a venue account, and where its settings are read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: str
    account: str = Field(pattern=f"^{_ACCOUNT}$")
    # None: the venue's own prefix, KLAXON_<VENUE>_ (e.g. KLAXON_OKX_API_KEY).
    env_prefix: str | None = Field(default=None, pattern=f"^{_PREFIX}$")

    @model_validator(mode="after")
    def _known_venue(self) -> Self:
        if self.venue not in VENUES:
            raise ValueError(f"unknown venue {self.venue!r}; known: {', '.join(sorted(VENUES))}")
        return self

    @property
    def label(self) -> str:
        """Return "venue/account"."""
        return f"{self.venue}/{self.account}"


class _Base(BaseSettings):
    # An empty variable is an unset one (docker-compose passes `${NAME:-}` through as "").
    model_config = SettingsConfigDict(env_prefix="KLAXON_", extra="ignore", env_ignore_empty=True)

    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    rules: list[Path] = Field(default_factory=lambda: [EXAMPLES / "demo.yaml"])
    # Ticker streams; each is drained by one worker at a time: about one per worker.
    partitions: int = Field(default=4, ge=1, le=4096)
    log_level: str = "INFO"
    # The venue accounts to watch, as JSON; rules that name no venue need exactly one venue here.
    accounts: list[AccountRef] = Field(
        default_factory=lambda: [AccountRef(venue=DEFAULT_VENUE, account="main")], min_length=1
    )

    @field_validator("accounts")
    @classmethod
    def _distinct(cls, accounts: list[AccountRef]) -> list[AccountRef]:
        labels = [ref.label for ref in accounts]
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"listed twice: {', '.join(twice)}")
        return accounts

    def venues(self) -> tuple[str, ...]:
        """Return the venues the accounts are on, each once, in their order."""
        return tuple(dict.fromkeys(ref.venue for ref in self.accounts))


class WatcherSettings(_Base):
    """`klaxon watch`: every account of KLAXON_ACCOUNTS, each with its own connections."""

    maxlen: int = Field(default=100_000, ge=1000)
    # Seconds of fills an account's first backfill fetches (later ones start where the last ended).
    backfill_lookback: float = Field(default=300.0, gt=0, le=86_400)


class CheckSettings(_Base):
    """`klaxon check`: the accounts, for the venue of rules that name none."""


class WorkerSettings(_Base):
    """`klaxon work`: one rq worker evaluating rules, placing orders and/or delivering
    notifications; it places the emulated orders of KLAXON_ACCOUNTS' accounts with a key."""

    name: str | None = None
    # Queue names (workers/service.py QUEUES); all by default.
    queues: list[str] = Field(
        default_factory=lambda: [
            keys.EVALUATE_QUEUE,
            keys.ORDERS_QUEUE,
            keys.ACCOUNTS_QUEUE,
            keys.NOTIFY_QUEUE,
        ]
    )
    # Emulated orders: placed by the evaluating job (true) or by a job on the orders queue.
    orders_inline: bool = True
    # Added to this worker's niceness at start (0-19): a worker of latency-tolerant queues
    # (accounts, notify) gives the CPU to the evaluators of market data when both want it.
    nice: int = Field(default=0, ge=0, le=19)
    order_timeout: float = Field(default=5.0, gt=0, le=60)  # seconds a REST call may take
    # Global risk limits (a rule's `limits:` add its own): the markets orders may be placed in
    # ("venue:market" or "market"; unset: any), max size by market, max notional (size x
    # price) and orders per minute per account.
    risk_markets: list[str] | None = None
    risk_max_size: dict[str, Decimal] = Field(default_factory=dict)
    risk_max_notional: Decimal | None = Field(default=None, gt=0)
    risk_orders_per_minute: int | None = Field(default=None, ge=1)


class SimSettings(BaseSettings):
    """`klaxon sim`: the local exchange simulator (test infrastructure, loopback only)."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_SIM_", extra="ignore")

    host: str = "127.0.0.1"
    # The venues to serve (JSON list), each on its own port: the first on `port`, the next on
    # port+1 and so on (with port 0, each on a free port).
    venues: list[str] = Field(default_factory=lambda: ["okx"])
    port: int = 8765
    api_key: str = "sim-key"
    secret_key: SecretStr = SecretStr("sim-secret")
    passphrase: SecretStr = SecretStr("sim-pass")
    seed: int = 7
    walk: bool = True
    tick_interval: float = 0.5
    perm: str = "read_only,trade"  # what the key may do (read_only, trade, withdraw)
    # Time limits of the venues that have them (Binance), compressible to test them: a listen
    # key's life, a connection's longest life, seconds between server pings (0: the venue's).
    listen_key_ttl: float = Field(default=3600.0, gt=0)
    max_connection_age: float = Field(default=86400.0, gt=0)
    ping_interval: float = Field(default=0.0, ge=0)
    # Also https:// and wss:// (the first venue on tls_port, the next on tls_port+1, ...; 0: free
    # ports), with a CA made at start and written to tls_ca for clients to trust.
    tls: bool = False
    tls_port: int = 0
    tls_ca: Path = Path(".klaxon/sim-ca.pem")


S = TypeVar("S", bound=BaseSettings)


def load(cls: type[S], env_prefix: str | None = None, **overrides: Any) -> S:
    """Build settings from the environment (and docker secrets when mounted), then overrides;
    env_prefix replaces the class's own. Raise ConfigError naming each bad variable."""
    prefix = env_prefix if env_prefix is not None else str(cls.model_config.get("env_prefix", ""))
    secrets = DOCKER_SECRETS if DOCKER_SECRETS.is_dir() else None
    values = {k: v for k, v in overrides.items() if v is not None}
    try:
        return cls(_secrets_dir=secrets, _env_prefix=prefix, **values)
    except SettingsError as exc:  # a value the source could not decode (JSON, mostly)
        field = re.search(r'field "([^"]+)"', str(exc))
        name = (prefix + field.group(1)).upper() if field else prefix + "*"
        raise ConfigError(f"{name}: not valid JSON") from None
    except ValidationError as exc:
        raise ConfigError("bad settings", errors=_describe(exc, prefix)) from None


def _describe(exc: ValidationError, prefix: str) -> list[str]:
    """Name each error's variable and say what is wrong, never quoting a value (secrets)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(part) for part in error["loc"]]
        name = (prefix + loc[0]).upper() if loc else prefix + "*"
        where = "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in loc[1:])
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}{where}: {message}")
    return lines
