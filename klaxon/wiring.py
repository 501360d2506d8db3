"""Build the venue accounts of KLAXON_ACCOUNTS, and their watchers, from settings and rules."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from klaxon.settings import AccountRef, WatcherSettings, load
from rules.load import RuleSet
from watcher.audit import audit_key
from watcher.backfill import BackfillOptions
from watcher.errors import ConfigError
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.venues import Venue, VenueSettings, venue_class

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Account:
    """A configured venue account: its entry, its venue settings, and the venue built on them."""

    ref: AccountRef
    settings: VenueSettings
    venue: Venue


def accounts(refs: list[AccountRef]) -> list[Account]:
    """Read each account's venue settings (its env prefix) and build it; ConfigError lists every
    account's problems."""
    built: list[Account] = []
    errors: list[str] = []
    for ref in refs:
        cls = venue_class(ref.venue)
        try:
            settings = load(cls.settings_model, env_prefix=ref.env_prefix)
        except ConfigError as exc:
            errors += [f"account {ref.label}: {line}" for line in exc.errors]
            continue
        built.append(Account(ref, settings, cls.from_settings(ref.account, settings)))
    if errors:
        raise ConfigError("bad account settings", errors=errors)
    return built


def build_watchers(
    settings: WatcherSettings, built: list[Account], ruleset: RuleSet
) -> list[Watcher]:
    """One Watcher per account, each with its own connections and publisher.

    The first account of a venue holds its public feed (every series the rules name on that
    venue); every account with an API key holds its own private feed. A later account of a venue
    without a key would watch nothing: ConfigError. Each key is audited first (watcher.audit):
    one that may withdraw is a ConfigError.
    """
    wanted: dict[str, set[tuple[str, str]]] = {}
    for name, market, source in ruleset.markets():
        wanted.setdefault(name, set()).add((market, source))
    unwatched = sorted(set(wanted) - {a.ref.venue for a in built})
    if unwatched:
        log.warning("rules name venues no account is on (they never fire): %s", unwatched)
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    errors: list[str] = []
    for account in built:
        if not account.venue.has_credentials:
            continue
        try:
            audit_key(account.venue, account.ref.label, client)
        except ConfigError as exc:
            errors += exc.errors
    if errors:
        raise ConfigError("bad API keys", errors=errors)
    backfill = BackfillOptions(lookback=settings.backfill_lookback)
    watchers: list[Watcher] = []
    for account in built:
        venue = account.venue
        series = wanted.pop(venue.name, set())
        first = all(w.publisher.venue != venue.name for w in watchers)
        if not first and not venue.has_credentials:
            errors.append(
                f"account {account.ref.label}: no API key, and its venue's market data comes "
                "with the first account: it would watch nothing"
            )
            continue
        publisher = Publisher(
            client, venue.name, venue.account, settings.partitions, settings.maxlen
        )
        watchers.append(
            Watcher(venue, publisher, series, private=venue.has_credentials, backfill=backfill)
        )
    if errors:
        raise ConfigError("bad accounts", errors=errors)
    return watchers
