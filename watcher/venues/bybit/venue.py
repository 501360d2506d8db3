"""The Bybit venue: endpoints, subscribe frames, feeds, and private frames -> events.

Public tickers go through tickers.TickerBook (the lean path), one book per public connection;
the private stream (order, execution, position, wallet) goes through the wire models.
https://bybit-exchange.github.io/docs/v5/ws/connect
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Self

import orjson
from pydantic import TypeAdapter, ValidationError

from watcher.errors import ConfigError, UnknownMessage, redacted
from watcher.events import Event, utc_from_ms
from watcher.venues import Feed, Heartbeat, Parsed, Trading, VenueSettings
from watcher.venues.bybit.auth import BybitCredentials, auth_frame
from watcher.venues.bybit.markets import market_problem
from watcher.venues.bybit.replies import VENUE, answer, decode, unknown
from watcher.venues.bybit.rest import BybitRest
from watcher.venues.bybit.rest_http import default_rest_url
from watcher.venues.bybit.settings import BybitSettings
from watcher.venues.bybit.tickers import FIELDS, SOURCES, TickerBook
from watcher.venues.bybit.wire import (
    CATEGORIES,
    BybitExecution,
    BybitOrder,
    BybitPosition,
    BybitWallet,
    split_market,
)

PING = '{"op":"ping"}'  # a text frame, answered by a pong text frame
# Bybit recommends a ping every 20 s; a private connection with neither pings nor data is cut
# after 10 minutes. https://bybit-exchange.github.io/docs/v5/ws/connect
HEARTBEAT = Heartbeat(interval=20.0, timeout=10.0, frame=PING)
PRIVATE_TOPICS = ("order", "execution", "position", "wallet")
# Public args limits: at most 21,000 characters of "args" per connection, spot at most 10 args
# per request, option at most 2,000 args per connection; linear and inverse: no other limit.
MAX_ARGS_CHARS = 21_000
MAX_ARGS_PER_REQUEST = {"spot": 10}
MAX_ARGS_PER_CONNECTION = {"option": 2_000}

_ORDERS = TypeAdapter(list[BybitOrder])
_EXECUTIONS = TypeAdapter(list[BybitExecution])
_POSITIONS = TypeAdapter(list[BybitPosition])
_WALLETS = TypeAdapter(list[BybitWallet])


def default_public_url(testnet: bool = False) -> str:
    """Return the base of the public stream URLs (the category is appended)."""
    return f"wss://stream{'-testnet' if testnet else ''}.bybit.com/v5/public"


def default_private_url(testnet: bool = False, demo: bool = False) -> str:
    """Return the private stream URL (demo trading has its own host; its public is live's)."""
    host = "stream" + ("-demo" if demo else "") + ("-testnet" if testnet else "")
    return f"wss://{host}.bybit.com/v5/private"


def subscribe_frames(category: str, topics: list[str]) -> list[str]:
    """Return the subscribe requests for one connection's topics, within the per-request cap."""
    size = MAX_ARGS_PER_REQUEST.get(category) or max(len(topics), 1)
    return [
        orjson.dumps({"op": "subscribe", "args": topics[i : i + size]}).decode()
        for i in range(0, len(topics), size)
    ]


def connections(category: str, topics: list[str]) -> list[list[str]]:
    """Split one category's topics over connections within the per-connection args limits."""
    cap = MAX_ARGS_PER_CONNECTION.get(category)
    groups: list[list[str]] = []
    group: list[str] = []
    chars = 2  # the brackets of the serialised args array
    for topic in topics:
        length = len(topic) + 3  # quotes and a comma
        if group and (chars + length > MAX_ARGS_CHARS or (cap is not None and len(group) >= cap)):
            groups.append(group)
            group, chars = [], 2
        group.append(topic)
        chars += length
    if group:
        groups.append(group)
    return groups


class Bybit:
    """Bybit v5 over WebSocket and REST; every event it makes carries venue "bybit"."""

    name: ClassVar[str] = VENUE
    settings_model: ClassVar[type[VenueSettings]] = BybitSettings

    def __init__(
        self,
        account: str = "",
        credentials: BybitCredentials | None = None,
        *,
        testnet: bool = False,
        demo: bool = False,
        public_url: str | None = None,
        private_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        self.account = account
        self.credentials = credentials
        self.testnet = testnet
        self.demo = demo
        self.public_url = (public_url or default_public_url(testnet)).rstrip("/")
        self.private_url = private_url or default_private_url(testnet, demo)
        self.rest_url = rest_url or default_rest_url(testnet, demo)
        self._private: dict[str, Callable[[list[Any], dict[str, Any]], list[Event]]] = {
            "order": self._orders,
            "execution": self._executions,
            "position": self._positions,
            "wallet": self._wallets,
        }

    @classmethod
    def from_settings(cls, account: str, settings: VenueSettings) -> Self:
        """Build `account` from its BybitSettings."""
        if not isinstance(settings, BybitSettings):
            raise TypeError(f"bybit: expected BybitSettings, got {type(settings).__name__}")
        return cls(
            account,
            settings.credentials(),
            testnet=settings.testnet,
            demo=settings.demo,
            public_url=settings.ws_public_url,
            private_url=settings.ws_private_url,
            rest_url=settings.rest_url,
        )

    @classmethod
    def source_problem(cls, market: str, source: str) -> str:
        """Say why Bybit streams no `source` price for `market` ("" when its category's tickers
        carry it, or when the market is misspelt: that is another error)."""
        if source not in SOURCES:
            return f"bybit streams no {source!r} price (it has {', '.join(SOURCES)})"
        try:
            category, _ = split_market(market)
        except ConfigError:
            return ""
        if source != "last" and not FIELDS[category][SOURCES.index(source)]:
            return f"bybit {category} tickers carry no {source} price"
        return ""

    def __repr__(self) -> str:
        return (
            f"Bybit(account={self.account!r}, testnet={self.testnet}, demo={self.demo}, "
            f"public_url={self.public_url!r})"
        )

    @property
    def has_credentials(self) -> bool:
        """Whether an API key is set (the private feed and trading need one)."""
        return self.credentials is not None

    def public_plan(
        self, series: Iterable[tuple[str, str]]
    ) -> list[tuple[str, list[str], dict[str, set[str]]]]:
        """Return (category, topics, sources wanted per symbol) per public connection to hold."""
        wanted: dict[str, dict[str, set[str]]] = {}
        for market, source in sorted(set(series)):
            category, symbol = split_market(market)
            if source not in SOURCES:
                raise ConfigError(f"bybit: unknown price source {source!r} for {market}")
            if source != "last" and not FIELDS[category][SOURCES.index(source)]:
                raise ConfigError(f"bybit: {category} tickers carry no {source} price ({market})")
            wanted.setdefault(category, {}).setdefault(symbol, set()).add(source)
        plan = []
        for category, symbols in wanted.items():
            for topics in connections(category, [f"tickers.{s}" for s in symbols]):
                sources = {t.partition(".")[2]: symbols[t.partition(".")[2]] for t in topics}
                plan.append((category, topics, sources))
        return plan

    def private_subscriptions(self) -> list[str]:
        """Return the subscribe frame for the account's orders, executions, positions, wallet."""
        return subscribe_frames("private", list(PRIVATE_TOPICS))

    def login(self) -> str:
        """Return a fresh auth frame (it expires a few seconds after it is made)."""
        if self.credentials is None:
            raise ConfigError("bybit: the private feed needs credentials")
        return auth_frame(self.credentials, time.time())

    def feeds(self, series: Iterable[tuple[str, str]], private: bool) -> list[Feed]:
        """Describe the connections to hold: public tickers per category, and the private one."""
        feeds: list[Feed] = []
        seen: dict[str, int] = {}
        for category, topics, sources in self.public_plan(series):
            seen[category] = seen.get(category, 0) + 1
            name = f"public-{category}" + (f"-{seen[category]}" if seen[category] > 1 else "")
            book = TickerBook(category, name, sources, self._redact)
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name=name,
                    url=_fixed(f"{self.public_url}/{category}"),
                    subscribe=tuple(subscribe_frames(category, topics)),
                    parse=book.parse,
                    heartbeat=HEARTBEAT,
                )
            )
        if private:
            if self.credentials is None:
                raise ConfigError("bybit: the private feed needs credentials")
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="private",
                    url=_fixed(self.private_url),
                    subscribe=tuple(self.private_subscriptions()),
                    parse=self.parse,
                    heartbeat=HEARTBEAT,
                    login=self.login,
                    private=True,  # the watcher backfills what a reconnect missed (fills_since)
                )
            )
        return feeds

    def parse(self, raw: str | bytes) -> Parsed:
        """Map one private-stream frame to events; acks and pongs map to nothing."""
        msg = decode(raw, self._redact)
        topic = msg.get("topic")
        if topic is None:
            return answer(msg, raw, "private", self._redact)
        if type(topic) is not str:  # never str() a decoded value: deep JSON overflows repr
            raise self._unknown("topic is not a string", raw)
        base, _, category = topic.partition(".")  # order, or categorised: order.linear
        handler = self._private.get(base)
        if handler is None or (category and category not in CATEGORIES):
            raise self._unknown(f"unknown topic {topic!r}", raw)
        data = msg.get("data")
        if type(data) is not list:
            raise self._unknown(f"{topic}: push without a data list", raw)
        try:
            return Parsed([], handler(data, msg))
        except ValidationError as exc:
            fields = ",".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise self._unknown(f"{topic}: invalid {fields}", raw) from None
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            # ArithmeticError: OverflowError, and decimal's Overflow (a ratio of absurd amounts)
            raise self._unknown(f"{topic}: bad push ({type(exc).__name__})", raw) from None

    @classmethod
    def market_problem(cls, market: str) -> str:
        """Say why `market` is not a Bybit market name, with the likely one ("" if it is)."""
        return market_problem(market)

    def trading(self, timeout: float = 10.0) -> Trading:
        """Return the account's REST client (needs credentials)."""
        if self.credentials is None:
            raise ConfigError("bybit: REST calls need credentials")
        return BybitRest(self.credentials, self.rest_url, account=self.account, timeout=timeout)

    def _orders(self, data: list[Any], msg: dict[str, Any]) -> list[Event]:
        return [o.to_event(self.name, self.account) for o in _ORDERS.validate_python(data)]

    def _executions(self, data: list[Any], msg: dict[str, Any]) -> list[Event]:
        executions = _EXECUTIONS.validate_python(data)
        return [e.to_event(self.name, self.account) for e in executions if e.is_trade]

    def _positions(self, data: list[Any], msg: dict[str, Any]) -> list[Event]:
        return [p.to_event(self.name, self.account) for p in _POSITIONS.validate_python(data)]

    def _wallets(self, data: list[Any], msg: dict[str, Any]) -> list[Event]:
        at = utc_from_ms(msg["creationTime"])  # a wallet item carries no time of its own
        return [w.to_event(self.name, self.account, at) for w in _WALLETS.validate_python(data)]

    def _redact(self, text: str) -> str:
        if self.credentials is None:
            return text
        return redacted(text, (self.credentials.api_key.get_secret_value(),))

    def _unknown(self, reason: str, raw: str | bytes) -> UnknownMessage:
        return unknown(reason, raw, self._redact)


def _fixed(url: str) -> Callable[[], str]:
    """Return a Feed's URL callable for a URL that never changes."""
    return lambda: url
