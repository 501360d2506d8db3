"""Settings of one simulated exchange: which venue's protocol it speaks, where, and its account."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from simulator.money import parse_positive

# What the API key may do, in the simulator's words; each venue reports them in its own.
PERMISSIONS = frozenset({"read_only", "trade", "withdraw"})


@dataclass(frozen=True)
class SimConfig:
    """One simulated venue: its protocol (a name in simulator.registry), where it listens, the
    credentials it accepts, its markets and how their prices move, and its one account."""

    venue: str = "okx"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    api_key: str = field(default="sim-key", repr=False)
    secret_key: str = field(default="sim-secret", repr=False)
    passphrase: str = field(default="sim-pass", repr=False)  # for venues that have one (OKX)
    # Market name (as the venue names it) -> start price; None: the venue's default markets.
    markets: Mapping[str, str] | None = None
    tick_interval: float = 0.5
    walk: bool = True
    seed: int = 7
    idle_timeout: float = 30.0  # a silent connection is closed after this (where the venue does)
    uid: str = "44000000000000"  # the account's user id, where the venue shows one
    balance: str = "100000"  # starting USDT cash of the one simulated account
    # Leverage of margin (cross/isolated) orders and positions; cash orders use none.
    leverage: str = "5"
    # The API key's permissions, comma-separated PERMISSIONS; each venue reports them its way.
    perm: str = "read_only,trade"
    # Also serve https:// and wss:// on tls_port (0: a free one), with a certificate made at
    # start by a CA made with it (Simulator.certificates; needs the `sim` extra).
    tls: bool = False
    tls_port: int = 0
    # Where the venue's connections have these limits (Binance), compressible for tests: a
    # listen key's life without a keepalive (Binance 60 min), a connection's longest life
    # (Binance 24 h), and seconds between server pings (0: the venue's documented interval).
    listen_key_ttl: float = 3600.0
    max_connection_age: float = 86400.0
    ping_interval: float = 0.0
    # The API key's Ed25519 public key (PEM): set, REST signatures are Ed25519 over it (where the
    # venue has such keys: Binance) instead of the HMAC of secret_key; needs the `sim` extra.
    ed25519_public_key: str = field(default="", repr=False)
    # Seconds every REST call's answer waits after the call was carried out: a distant venue's
    # round trip (its requests arrive at once; their answers come this much later).
    answer_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.markets is not None and not self.markets:
            raise ValueError("SimConfig.markets must name at least one market")
        for name, price in (self.markets or {}).items():
            if parse_positive(price) is None:
                raise ValueError(
                    f"SimConfig.markets[{name!r}] is not a plain positive decimal string"
                )
        if parse_positive(self.balance) is None:
            raise ValueError("SimConfig.balance is not a plain positive decimal string")
        if parse_positive(self.leverage) is None:
            raise ValueError("SimConfig.leverage is not a plain positive decimal string")
        unknown = set(self.perm.split(",")) - PERMISSIONS
        if unknown:
            raise ValueError(f"SimConfig.perm has unknown permissions {sorted(unknown)}")
        if self.tick_interval <= 0:
            raise ValueError("SimConfig.tick_interval must be > 0")
        if self.idle_timeout <= 0:
            raise ValueError("SimConfig.idle_timeout must be > 0")
        if self.listen_key_ttl <= 0 or self.max_connection_age <= 0:
            raise ValueError("SimConfig.listen_key_ttl and max_connection_age must be > 0")
        if not 0 <= self.answer_delay <= 60:
            raise ValueError("SimConfig.answer_delay must be in 0..60 seconds")
        if self.ping_interval < 0:
            raise ValueError("SimConfig.ping_interval must be >= 0 (0: the venue's own)")
        if not 0 <= self.port <= 65535:
            raise ValueError("SimConfig.port must be in 0..65535")
        if not 0 <= self.tls_port <= 65535:
            raise ValueError("SimConfig.tls_port must be in 0..65535")

    def permits(self, permission: str) -> bool:
        """Tells whether the API key has a permission (one of PERMISSIONS)."""
        return permission in self.perm.split(",")
