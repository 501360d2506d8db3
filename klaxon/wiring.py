"""Build the venue accounts of KLAXON_ACCOUNTS and their watchers from settings and the price
series of the published rules version; keep the watchers on the series of each new version;
build the watcher process's monitor, and the workers' trading desk (each account's REST
client, the risk limits)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis

from klaxon.settings import AccountRef, WatcherSettings, WorkerSettings, load
from watcher.audit import audit_key
from watcher.backfill import BackfillOptions
from watcher.errors import ConfigError
from watcher.monitor import Monitor, MonitorOptions
from watcher.publish import Publisher
from watcher.published import Published, Series, published_version, read_published
from watcher.service import Watcher
from watcher.venues import Trading, Venue, VenueSettings, venue_class
from workers.order_desk import Desk
from workers.risk import RiskLimits

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


def desk(settings: WorkerSettings, built: list[Account]) -> Desk:
    """The trading side of a worker: the REST client of every account with an API key (its
    secrets stay in this process), the partitions, the risk limits, inline or queued."""
    traders: dict[tuple[str, str], Trading] = {
        (a.venue.name, a.venue.account): a.venue.trading(settings.order_timeout)
        for a in built
        if a.venue.has_credentials
    }
    markets = frozenset(settings.risk_markets) if settings.risk_markets is not None else None
    risk = RiskLimits(
        markets=markets,
        max_size=dict(settings.risk_max_size),
        max_notional=settings.risk_max_notional,
        per_minute=settings.risk_orders_per_minute,
    )
    # An attempt holds an order for a lookup and a place at most, each within the timeout.
    lease_ms = int((2 * settings.order_timeout + 2) * 1000)
    return Desk(
        traders, settings.partitions, risk, inline=settings.orders_inline, lease_ms=lease_ms
    )


def build_watchers(
    settings: WatcherSettings, built: list[Account], series: Iterable[Series]
) -> list[Watcher]:
    """One Watcher per account, each with its own connections and publisher.

    The first account of a venue holds its public feed (every (venue, market, source) series
    the rules stream on that venue); every account with an API key holds its own private feed.
    A later account of a venue without a key would watch nothing: ConfigError. Each key is
    audited first (watcher.audit): one that may withdraw is a ConfigError.
    """
    wanted: dict[str, set[tuple[str, str]]] = {}
    for name, market, source in series:
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
        mine = wanted.pop(venue.name, set())
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
            Watcher(venue, publisher, mine, private=venue.has_credentials, backfill=backfill)
        )
    if errors:
        raise ConfigError("bad accounts", errors=errors)
    return watchers


def public_holders(watchers: Iterable[Watcher]) -> dict[str, Watcher]:
    """Return, by venue, the watcher that holds the venue's public feed (its first account)."""
    holders: dict[str, Watcher] = {}
    for watcher in watchers:
        holders.setdefault(watcher.publisher.venue, watcher)
    return holders


class MarketFollower:
    """Keeps every venue's public feed on the series of the published rules version.

    poll() reads the published version (one HGET); when it changed, it reads the version's
    series and resubscribes each venue's public feed to its share (Watcher.resubscribe:
    reconnects the feeds whose series changed, and only those).
    """

    def __init__(
        self, client: redis.Redis, watchers: Iterable[Watcher], published: Published
    ) -> None:
        self.client = client
        self.holders = public_holders(watchers)
        self.version = published.version

    def poll(self) -> bool:
        """Follow a new published version, if there is one; return whether one was followed."""
        if published_version(self.client) in (None, self.version):
            return False
        published = read_published(self.client)
        if published is None:
            return False
        self.version = published.version
        venues = {venue for venue, _, _ in published.series}
        unwatched = sorted(venues - set(self.holders))
        if unwatched:
            log.warning("rules name venues no account is on (they never fire): %s", unwatched)
        for venue, watcher in self.holders.items():
            watcher.resubscribe(published.venue_series(venue))
        log.info("following rules version %s", published.version[:12])
        return True

    def run(
        self,
        stop: threading.Event,
        hup: threading.Event,
        publish: Callable[[], None],
        interval: float = 1.0,
    ) -> None:
        """Poll every `interval` seconds until `stop`; when `hup` is set, clear it and
        `publish` (the rule files' version) first."""
        while not stop.is_set():
            if hup.is_set():
                hup.clear()
                publish()
            try:
                self.poll()
            except redis.RedisError as exc:
                log.warning("cannot read the published rules version: %s", type(exc).__name__)
            hup.wait(interval)


def build_monitor(
    settings: WatcherSettings, watchers: list[Watcher], options: MonitorOptions | None = None
) -> Monitor:
    """The monitor of every feed and stream of `watchers` (watcher/monitor.py); it reports at
    the `seconds:` of the published rules version's feed and lag rules too."""
    return Monitor(
        redis.Redis.from_url(settings.redis_url.get_secret_value()),
        [(stream, w.publisher) for w in watchers for stream in w.streams],
        [stream for w in watchers for stream in w.publisher.streams()],
        options,
    )
