"""The venue contract: what every exchange adapter provides, and the registry of them.

A venue is a package `watcher/venues/<name>/` with one class that satisfies `Venue`, imported
and entered in VENUES at the end of this module; nothing else outside its package names it. The
class:

- has `name` (the registry key, the `venue` of every event it makes) and `settings_model`, its
  `VenueSettings` subclass (env_prefix `KLAXON_<NAME>_`; an account of KLAXON_ACCOUNTS may give
  another prefix); `from_settings(account, settings)` builds one account;
- describes its connections as `Feed`s: `feeds(series, private)` gives the public feed for the
  (market, source) price series (none when there are none) and, with `private`, the account's
  feed (ConfigError without credentials);
- parses each frame to a `Parsed`: tick rows (watcher.events.TickRow, exact price strings) for
  the hot path, other events as models carrying `venue` and `account`; acks and pongs parse to
  nothing; a frame it cannot map raises UnknownMessage (logged, counted, skipped). A login reply
  parses to FeedStatus "logged_in" (the stream subscribes only after it) or "login_failed"; a
  FeedStatus "closing" or "login_failed" makes the stream reconnect;
- gives a REST client for its account, `trading()`, that satisfies `Trading`;
- says how it spells markets: `market_problem(market)` is "" for a market it could list and
  otherwise says why not, suggesting the right spelling (`klaxon check` reports it at the
  rule's file:line; the registry's market_problem(venue, market) asks the venue's class).

watcher/stream.py holds each Feed's connection and knows no venue: a Feed says where to connect
(`url`, called at every connect), how to log in and subscribe, how to keep the connection alive
(`heartbeat`), when to replace it (`max_age`), what to do once it is up (`on_connected`), and
what else may be wrong with it (`trouble`: reported by the watcher's monitor).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar, Literal, NamedTuple, Protocol, Self, runtime_checkable

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from watcher.errors import ConfigError
from watcher.events import Event, FeedState, Fill, OrderUpdate, TickRow


class Parsed(NamedTuple):
    """What one frame parses to: lean tick rows for the hot path, and every other event."""

    ticks: list[TickRow]
    events: list[Event]


@dataclass(frozen=True)
class Heartbeat:
    """How a feed shows it is alive: after `interval` s without a frame the stream sends `frame`
    (None: the server pings and we only answer), then reconnects if `timeout` s more pass
    without a frame."""

    interval: float
    timeout: float
    frame: str | None


class Trouble(NamedTuple):
    """A venue-specific condition of a feed, for the watcher's monitor to report (Binance: the
    listen key could not be extended): its FeedStatus status, since when (time.monotonic()),
    and why (no secret in it)."""

    state: FeedState
    since: float
    detail: str


@dataclass(frozen=True, kw_only=True)
class Feed:
    """One connection to hold: where, how to log in and subscribe, and how to read its frames.

    `url` is called at every connect (a venue may put a fresh listen key in it); the stream logs
    only its host. `login`, when set, makes a fresh login frame; subscribe frames follow its
    "logged_in" status. `on_connected`, when set, runs once the subscriptions are sent, in the
    stream's thread, at every connect (a resync: e.g. the fills missed while disconnected); what
    it returns is published before the frames read after it; if it raises, the connection is
    dropped and made again. `max_age`, when set, replaces a connection that old (a venue's
    connection time limit), at once and without backoff. `private` marks the account's own
    feed (orders, fills): the watcher backfills over REST what it missed after each connect.
    `trouble`, when set, is asked by the watcher's monitor (from its own thread) what else is
    wrong with the feed, if anything.
    """

    venue: str
    account: str = ""
    name: str
    url: Callable[[], str] = field(repr=False)
    subscribe: Sequence[str]
    parse: Callable[[str | bytes], Parsed] = field(repr=False)
    heartbeat: Heartbeat
    headers: Mapping[str, str] = field(default_factory=dict)
    login: Callable[[], str] | None = field(default=None, repr=False)
    on_connected: Callable[[], Sequence[Parsed]] | None = field(default=None, repr=False)
    max_age: float | None = None
    private: bool = False
    trouble: Callable[[], Trouble | None] | None = field(default=None, repr=False)


class VenueSettings(BaseSettings):
    """Base of a venue's settings (pydantic-settings): each venue sets env_prefix KLAXON_<NAME>_;
    an empty variable counts as unset."""

    model_config = SettingsConfigDict(extra="ignore", env_ignore_empty=True)

    def secrets(self) -> list[str]:
        """Return every secret value set, for the log filter (never for display)."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v]


Permission = Literal["read", "trade", "withdraw"]


class Trading(Protocol):
    """A venue account's signed REST API, as the workers use it.

    Sizes and prices are the exact decimal text to send; `side` is "buy" or "sell";
    `ord_type` is "market" or "limit" (a venue maps them to its own words); `reduce_only`
    only reduces a position (swaps, margin). Errors follow watcher.errors: OrderRejected (the
    venue said no), ExchangeUnavailable (retry later), OutcomeUnknown (look the order up by
    client id before placing it again).
    """

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str,
        price: str | None = None,
        client_order_id: str | None = None,
        *,
        reduce_only: bool = False,
    ) -> str:
        """Place an order; return the venue's order id."""

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Cancel an order by the venue's id or ours."""

    def order_by_client_id(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Return the order we placed with `client_order_id`, or None if the venue has none."""

    def fills_since(self, since: datetime, market: str | None = None) -> list[Fill]:
        """Return the account's fills at or after `since` (of one market, or all), oldest first."""

    def key_permissions(self) -> frozenset[Permission]:
        """Return what the API key may do."""


@runtime_checkable
class FillsByMarket(Protocol):
    """A Trading that lists fills per market (Binance): the backfill names the markets it knows
    (its rules', its fills'), the venue adds those it can find itself."""

    def fills_in(self, since: datetime, markets: Iterable[str]) -> list[Fill]:
        """Return the account's fills at or after `since` in `markets` and in every market the
        venue names as traded, oldest first."""


@runtime_checkable
class OpenOrders(Protocol):
    """A Trading that can also list the account's open orders (the backfill asks, if it can)."""

    def pending_orders(self, market: str | None = None) -> list[OrderUpdate]:
        """Return every live or partially filled order (of one market, or all), oldest first."""


@runtime_checkable
class Positions(Protocol):
    """A Trading that reads the account's position in a market (close_position orders ask)."""

    def position_size(self, market: str) -> Decimal:
        """Return the account's net position in `market`: > 0 long, < 0 short, 0 for none."""


class Venue(Protocol):
    """One account on one exchange: the connections to hold and the REST client to trade with."""

    name: ClassVar[str]
    settings_model: ClassVar[type[VenueSettings]]
    account: str

    @classmethod
    def from_settings(cls, account: str, settings: VenueSettings) -> Self:
        """Build `account` on this venue from its settings (a `settings_model` instance)."""

    @classmethod
    def source_problem(cls, market: str, source: str) -> str:
        """Say why this venue streams no `source` price for `market` ("" when it does)."""

    @property
    def has_credentials(self) -> bool:
        """Whether an API key is set (the private feed and trading need one)."""

    def feeds(self, series: Iterable[tuple[str, str]], private: bool) -> list[Feed]:
        """Describe the connections: the (market, source) series' tickers, and the private feed."""

    def trading(self, timeout: float = 10.0) -> Trading:
        """Return the account's REST client (ConfigError without credentials)."""

    @classmethod
    def market_problem(cls, market: str) -> str:
        """Say why `market` is not spelled as this venue spells markets, suggesting the right
        spelling ("" when it is)."""


# The venue of rule files that name none, and of KLAXON_ACCOUNTS when it is unset.
DEFAULT_VENUE = "okx"


def venue_class(name: str) -> type[Venue]:
    """Return the class of a registered venue, or raise ConfigError naming the known ones."""
    cls = VENUES.get(name)
    if cls is None:
        raise ConfigError(f"unknown venue {name!r}; known: {', '.join(sorted(VENUES))}")
    return cls


def source_problem(venue: str, market: str, source: str) -> str:
    """Say why `venue` streams no `source` price for `market` ("" when it does, or when the
    venue is unknown: that is another error)."""
    cls = VENUES.get(venue)
    return "" if cls is None else cls.source_problem(market, source)


# The registry: name -> class. Below the contract, which the venue packages import.
from watcher.venues.binance import Binance  # noqa: E402
from watcher.venues.binanceusdm import BinanceUsdm  # noqa: E402
from watcher.venues.bybit import Bybit  # noqa: E402
from watcher.venues.ftx import Ftx  # noqa: E402
from watcher.venues.okx import Okx  # noqa: E402

VENUES: Mapping[str, type[Venue]] = MappingProxyType(
    {
        "okx": Okx,
        "binance": Binance,
        "binanceusdm": BinanceUsdm,
        "bybit": Bybit,
        "ftx": Ftx,  # historical: the exchange closed in 2022; runs against the simulator
    }
)


def market_problem(venue: str, market: str) -> str:
    """Say why `market` is not spelled as `venue` spells markets ("" when it is, or when the
    venue is not a registered one: no format to check it against)."""
    cls = VENUES.get(venue)
    return "" if cls is None else cls.market_problem(market)


def position_problem(venue: str, market: str) -> str:
    """Say why no position in `market` on `venue` can be closed ("" when one can: a venue whose
    class answers position_problem(market) with "")."""
    cls = VENUES.get(venue)
    check = getattr(cls, "position_problem", None)
    if check is None:
        return f"klaxon cannot read positions on {venue}: close_position is for OKX swaps"
    return str(check(market))


__all__ = [
    "DEFAULT_VENUE",
    "VENUES",
    "Feed",
    "Heartbeat",
    "OpenOrders",
    "Parsed",
    "Permission",
    "Positions",
    "Trading",
    "Trouble",
    "Venue",
    "VenueSettings",
    "market_problem",
    "position_problem",
    "source_problem",
    "venue_class",
]
