"""The API key audit: at start the watcher asks each venue what its account's key may do.

A key that may withdraw is refused (OKX: "Disabling withdrawal permissions is mandatory"): a
notification service never needs to move funds out, and a leaked key that can is the worst
case. A key without `trade` runs alerts only. What a key may do is recorded in Redis
(keys.key_permissions) for the workers, which place no order for a read-only account, and for
`klaxon status`. Nothing here names or prints the key itself.
"""

from __future__ import annotations

import logging
import time
from typing import cast

import redis

from watcher import keys
from watcher.errors import ConfigError, ExchangeUnavailable, RequestRejected, UnknownMessage
from watcher.venues import Permission, Venue

log = logging.getLogger(__name__)

ATTEMPTS = 4  # asking a venue that is unavailable, with 1, 2, 4 s between attempts
_KNOWN: frozenset[str] = frozenset({"read", "trade", "withdraw"})


def audit_key(
    venue: Venue, label: str, client: redis.Redis, attempts: int = ATTEMPTS, wait: float = 1.0
) -> frozenset[Permission]:
    """Ask the venue what the account's API key may do; refuse a key that may withdraw
    (ConfigError naming the account), record the permissions in Redis and return them."""
    trading = venue.trading()
    for attempt in range(attempts):
        try:
            permissions = trading.key_permissions()
            break
        except ExchangeUnavailable as exc:
            if attempt + 1 == attempts:
                raise ExchangeUnavailable(
                    f"account {label}: could not ask the venue what its API key may do "
                    f"({attempts} attempts): {exc}"
                ) from None
            time.sleep(min(exc.retry_after or wait * 2**attempt, 30.0))
        except RequestRejected as exc:
            raise ConfigError(
                f"account {label}: {exc.venue} refused its API key when asked what the key may "
                f"do ({exc.code} {exc.message}); check the key, passphrase and IP allow-list"
            ) from None
        except UnknownMessage as exc:
            raise ConfigError(
                f"account {label}: could not read what its API key may do: {exc.reason}"
            ) from None
    if "withdraw" in permissions:
        raise ConfigError(
            f"account {label}: its API key has the withdraw permission, which klaxon refuses: "
            "a notification service never moves funds out, and a leaked key that can is the "
            "worst case. Create a key without withdrawal permission (OKX: 'Disabling "
            "withdrawal permissions is mandatory') and use that one."
        )
    client.set(keys.key_permissions(venue.name, venue.account), ",".join(sorted(permissions)))
    if "trade" in permissions:
        log.info("account %s: the API key may %s", label, ", ".join(sorted(permissions)))
    else:
        log.warning("account %s: the API key is read-only: alerts run, orders are refused", label)
    return permissions


def recorded_permissions(
    client: redis.Redis, venue: str, account: str
) -> frozenset[Permission] | None:
    """Return what the watcher's audit found the account's key may do, or None if unaudited."""
    raw = client.get(keys.key_permissions(venue, account))
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    names = {name for name in text.split(",") if name in _KNOWN}
    return frozenset(cast(set[Permission], names))


def trading_refused(client: redis.Redis, venue: str, account: str) -> str | None:
    """Return why no order may be placed for the account (its key is read-only or was never
    audited), or None when its key may trade."""
    permissions = recorded_permissions(client, venue, account)
    if permissions is None:
        return f"account {venue}/{account}: its API key was not audited (is the watcher running?)"
    if "trade" not in permissions:
        return f"account {venue}/{account}: its API key is read-only (no trade permission)"
    return None
