"""Build the watcher of a venue account from settings and the loaded rules."""

from __future__ import annotations

import redis

from klaxon.settings import WatcherSettings
from rules.load import RuleSet
from watcher.errors import ConfigError
from watcher.publish import Publisher
from watcher.service import Watcher
from watcher.venues.okx import Okx, OkxCredentials


def okx_credentials(settings: WatcherSettings) -> OkxCredentials | None:
    """The OKX credentials if all three are set; none if none are; an error if some are."""
    parts = (settings.okx_api_key, settings.okx_secret_key, settings.okx_passphrase)
    if all(p is None for p in parts):
        return None
    if any(p is None for p in parts):
        raise ConfigError(
            "set all of KLAXON_OKX_API_KEY, KLAXON_OKX_SECRET_KEY and KLAXON_OKX_PASSPHRASE "
            "(or none, for public market data only)"
        )
    key, secret, passphrase = parts
    return OkxCredentials(api_key=key, secret_key=secret, passphrase=passphrase)


def build_watcher(settings: WatcherSettings, ruleset: RuleSet) -> Watcher:
    """The Watcher for settings.venue/account, subscribed to every series the rules use."""
    if settings.venue != "okx":
        raise ConfigError(f"KLAXON_VENUE={settings.venue!r}: only 'okx' is supported so far")
    creds = okx_credentials(settings)
    venue = Okx(
        settings.account,
        creds,
        demo=settings.okx_demo,
        public_url=settings.okx_ws_public_url,
        private_url=settings.okx_ws_private_url,
        rest_url=settings.okx_rest_url,
    )
    series = {(m, s) for v, m, s in ruleset.markets() if v == venue.name}
    client = redis.Redis.from_url(settings.redis_url)
    publisher = Publisher(
        client, venue.name, settings.account, settings.partitions, settings.maxlen
    )
    return Watcher(venue, publisher, series, private=creds is not None)
