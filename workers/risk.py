"""The limits every emulated order passes before its real order is sent.

Global limits come from the workers' settings (KLAXON_RISK_*: klaxon/settings.py), a rule's own
from its `limits:` (max_size, max_notional, per_minute); both apply, the stricter wins:
- markets: the venue:market (or market) names orders may be placed in (unset: any);
- max size per market, max notional (size x the limit price, or the price that fired it);
- orders per minute: per account (global) and per rule, counted in Redis over a sliding
  minute (one Lua call checks every window, then counts the order in each).
A refusal is final: the order is REJECTED (code "risk"), notified and logged, never retried.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import redis
from redis.commands.core import Script

from rules.actions import Limits, OrderSpec
from rules.base import text
from watcher import keys
from workers.state import registered

WINDOW_MS = 60_000

# KEYS: one window per limit. ARGV: now ms, the order's member, then each window's limit.
# Returns 0 (counted in every window) or the 1-based index of the first window that is full.
_WINDOWS = """
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - 60000)
  if redis.call('ZSCORE', key, ARGV[2]) == false
     and redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return i
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, 60000)
end
return 0
"""


class _Scripts:
    def __init__(self, client: redis.Redis) -> None:
        self.windows: Script = client.register_script(_WINDOWS)


@dataclass(frozen=True)
class RiskLimits:
    """The global limits (None or empty: no limit of that kind)."""

    markets: frozenset[str] | None = None  # "venue:market" or "market"
    max_size: Mapping[str, Decimal] = field(default_factory=dict)  # by market
    max_notional: Decimal | None = None
    per_minute: int | None = None  # orders per minute, per account


def refusal(
    client: redis.Redis,
    limits: RiskLimits,
    own: Limits,
    spec: OrderSpec,
    price: Decimal,
    rule_id: str,
    member: str,
) -> str | None:
    """Return why the order may not be sent (None: it may, and it is counted per minute)."""
    venue, market = spec.venue, spec.market
    if limits.markets is not None and not {f"{venue}:{market}", market} & limits.markets:
        return f"{venue}:{market} is not among the markets orders may be placed in"
    for limit, where in ((limits.max_size.get(market), "global"), (own.max_size, "the rule's")):
        if limit is not None and spec.size > limit:
            return f"size {text(spec.size)} is over {where} max size {text(limit)}"
    notional = (spec.size * (spec.price if spec.price is not None else price)).normalize()
    for limit, where in ((limits.max_notional, "global"), (own.max_notional, "the rule's")):
        if limit is not None and notional > limit:
            return f"notional {text(notional)} is over {where} max notional {text(limit)}"
    windows = [
        (key, n, where)
        for key, n, where in (
            (keys.order_window(f"{venue}:{spec.account}"), limits.per_minute, "the account's"),
            (keys.order_window(f"rule:{rule_id}"), own.per_minute, "the rule's"),
        )
        if n is not None
    ]
    if not windows:
        return None
    scripts = registered(client, _Scripts)
    full = int(
        scripts.windows(
            keys=[key for key, _, _ in windows],
            args=[int(time.time() * 1000), member, *(n for _, n, _ in windows)],
        )
    )
    if full:
        _, n, where = windows[full - 1]
        return f"{where} limit of {n} orders a minute is reached"
    return None
