"""What a worker places emulated orders with: each account's REST client (built by
`klaxon work` from KLAXON_ACCOUNTS and the venues' settings: the credentials stay in this
process, never in a job's arguments or in Redis), the ticker partitions, the risk limits, and
whether orders are placed by the evaluating job itself (inline) or by the orders queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import redis

from watcher.audit import trading_refused
from watcher.venues import Trading
from workers.risk import RiskLimits

KEY_CHECK_SECONDS = 5.0  # how long an account's key audit answer is reused


@dataclass
class Desk:
    """The trading side of one worker process."""

    traders: Mapping[tuple[str, str], Trading]  # (venue, account) -> its REST client
    partitions: int = 4  # the ticker partitions (a market's stream, for armings)
    risk: RiskLimits = field(default_factory=RiskLimits)
    inline: bool = True  # place in the evaluating job (False: through the orders queue)
    # How long one attempt may hold an order (a place and a lookup, timeouts included): a
    # worker that dies holding it delays the next attempt this long.
    lease_ms: int = 15_000
    _refused: dict[tuple[str, str], tuple[float, str | None]] = field(default_factory=dict)

    def trader(self, venue: str, account: str) -> Trading | None:
        """Return the account's REST client (None: this worker has none for it)."""
        return self.traders.get((venue, account))

    def refused(self, client: redis.Redis, venue: str, account: str) -> str | None:
        """Return why the account may not trade (its key is read-only or unaudited), or None;
        the watcher's answer is read again after a few seconds."""
        now = time.monotonic()
        known = self._refused.get((venue, account))
        if known is None or now - known[0] > KEY_CHECK_SECONDS:
            known = (now, trading_refused(client, venue, account))
            self._refused[(venue, account)] = known
        return known[1]


_lock = threading.Lock()
_desk: Desk | None = None


def install(desk: Desk) -> None:
    """Make `desk` this process's (klaxon work, tests)."""
    global _desk
    with _lock:
        _desk = desk


def current() -> Desk | None:
    """Return this process's desk (None: no account can trade here)."""
    return _desk


def uninstall() -> None:
    """Forget the desk (tests)."""
    global _desk
    with _lock:
        _desk = None
