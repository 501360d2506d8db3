"""Settings of one simulated exchange."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from simulator.money import parse_positive

# OKX's API key permissions (the `perm` field of GET /api/v5/account/config).
PERMISSIONS = frozenset({"read_only", "trade", "withdraw"})


def _default_markets() -> Mapping[str, str]:
    return MappingProxyType({"BTC-USDT": "60000", "ETH-USDT": "3000"})


@dataclass(frozen=True)
class SimConfig:
    """What the simulator listens on, which credentials it accepts and how its prices move."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    api_key: str = field(default="sim-key", repr=False)
    secret_key: str = field(default="sim-secret", repr=False)
    passphrase: str = field(default="sim-pass", repr=False)
    markets: Mapping[str, str] = field(default_factory=_default_markets)
    tick_interval: float = 0.5
    walk: bool = True
    seed: int = 7
    idle_timeout: float = 30.0
    uid: str = "44000000000000"
    balance: str = "100000"  # starting USDT cash of the one simulated account
    # Leverage of margin (cross/isolated) orders and positions; cash orders use none.
    leverage: str = "5"
    # The API key's permissions as GET /api/v5/account/config reports them ("perm").
    perm: str = "read_only,trade"

    def __post_init__(self) -> None:
        if not self.markets:
            raise ValueError("SimConfig.markets must name at least one market")
        for inst_id, price in self.markets.items():
            if parse_positive(price) is None:
                raise ValueError(
                    f"SimConfig.markets[{inst_id!r}] is not a plain positive decimal string"
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
        if not 0 <= self.port <= 65535:
            raise ValueError("SimConfig.port must be in 0..65535")
