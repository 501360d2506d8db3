"""The OKX venue: endpoints, subscribe frames, and frames -> events (a lean path for tickers).

https://www.okx.com/docs-v5/en/#overview-websocket-subscribe
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Self

import orjson
from pydantic import TypeAdapter, ValidationError

from watcher.errors import ConfigError, UnknownMessage, redacted, sample
from watcher.events import Event, FeedState, FeedStatus
from watcher.sanity import scalar
from watcher.venues import Feed, Heartbeat, Parsed, Trading, VenueSettings
from watcher.venues.okx.auth import OkxCredentials, login_frame
from watcher.venues.okx.markets import market_problem, position_problem
from watcher.venues.okx.rest import LIVE_REST_URL, OkxRest
from watcher.venues.okx.settings import OkxSettings
from watcher.venues.okx.ticks import CHANNEL_OF_SOURCE, LEAN, SOURCES, Lean, TickPlan
from watcher.venues.okx.wire import (
    OkxAccount,
    OkxAlgoOrder,
    OkxBalanceAndPosition,
    OkxFill,
    OkxOrder,
    OkxPosition,
)

LIVE_PUBLIC_URL = "wss://ws.okx.com:8443/ws/v5/public"
LIVE_PRIVATE_URL = "wss://ws.okx.com:8443/ws/v5/private"
DEMO_PUBLIC_URL = "wss://wspap.okx.com:8443/ws/v5/public"
DEMO_PRIVATE_URL = "wss://wspap.okx.com:8443/ws/v5/private"
# OKX closes a connection silent for 30 s: ping after 20 s, give the pong 10 s.
# https://www.okx.com/docs-v5/en/#overview-websocket-connect
HEARTBEAT = Heartbeat(interval=20.0, timeout=10.0, frame="ping")
# OKX caps one subscribe request at 64 KB of channel args; stay at half of it.
MAX_SUBSCRIBE_BYTES = 32_768

_ACKS = frozenset({"subscribe", "unsubscribe", "channel-conn-count"})
# WebSocket error codes that mean the login did not (or no longer) hold: reconnect and log in.
# https://www.okx.com/docs-v5/en/#error-code-websocket
_LOGIN_FAILURES = frozenset(
    {"60004", "60005", "60006", "60007", "60009", "60011", "60023", "60024", "60032", "63999"}
)
_SERVICE_UPGRADE = "64008"

_ORDERS = TypeAdapter(list[OkxOrder])
_FILLS = TypeAdapter(list[OkxFill])
_POSITIONS = TypeAdapter(list[OkxPosition])
_ACCOUNTS = TypeAdapter(list[OkxAccount])
_BALANCE_AND_POSITION = TypeAdapter(list[OkxBalanceAndPosition])
_ALGO_ORDERS = TypeAdapter(list[OkxAlgoOrder])


def _subscribe_frames(args: list[dict[str, str]]) -> list[str]:
    frames: list[str] = []
    batch: list[dict[str, str]] = []
    size = 0
    for arg in args:
        length = len(orjson.dumps(arg)) + 1
        if batch and size + length > MAX_SUBSCRIBE_BYTES:
            frames.append(orjson.dumps({"op": "subscribe", "args": batch}).decode())
            batch, size = [], 0
        batch.append(arg)
        size += length
    if batch:
        frames.append(orjson.dumps({"op": "subscribe", "args": batch}).decode())
    return frames


class Okx:
    """OKX v5 over WebSocket and REST; every event it makes carries venue "okx" and the account."""

    name: ClassVar[str] = "okx"
    settings_model: ClassVar[type[VenueSettings]] = OkxSettings

    def __init__(
        self,
        account: str = "",
        credentials: OkxCredentials | None = None,
        *,
        demo: bool = False,
        public_url: str | None = None,
        private_url: str | None = None,
        rest_url: str | None = None,
    ) -> None:
        self.account = account
        self.credentials = credentials
        self.demo = demo
        self.public_url = public_url or (DEMO_PUBLIC_URL if demo else LIVE_PUBLIC_URL)
        self.private_url = private_url or (DEMO_PRIVATE_URL if demo else LIVE_PRIVATE_URL)
        self.rest_url = rest_url or LIVE_REST_URL
        # The market-data parsers: the plain ones until feeds() plans what the rules watch.
        self._lean: dict[str, Lean] = dict(LEAN)
        self._private: dict[str, Callable[[list[Any]], list[Event]]] = {
            "orders": self._orders,
            "fills": self._fills,
            "positions": self._positions,
            "liquidation-warning": self._liquidation_warnings,
            "account": self._accounts,
            "balance_and_position": self._balance_and_position,
            "orders-algo": self._algo_orders,
            "algo-advance": self._algo_orders,
        }

    @classmethod
    def from_settings(cls, account: str, settings: VenueSettings) -> Self:
        """Build `account` from its OkxSettings."""
        if not isinstance(settings, OkxSettings):
            raise TypeError(f"okx: expected OkxSettings, got {type(settings).__name__}")
        return cls(
            account,
            settings.credentials(),
            demo=settings.demo,
            public_url=settings.ws_public_url,
            private_url=settings.ws_private_url,
            rest_url=settings.rest_url,
        )

    @classmethod
    def source_problem(cls, market: str, source: str) -> str:
        """Say why OKX streams no `source` price for `market` ("": it streams all five)."""
        if source in CHANNEL_OF_SOURCE:
            return ""
        return f"okx streams no {source!r} price (it has {', '.join(SOURCES)})"

    def __repr__(self) -> str:
        return f"Okx(account={self.account!r}, demo={self.demo}, public_url={self.public_url!r})"

    @property
    def has_credentials(self) -> bool:
        """Whether an API key is set (the private feed and trading need one)."""
        return self.credentials is not None

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers for every connection: demo trading is selected by a header."""
        return {"x-simulated-trading": "1"} if self.demo else {}

    def parse(self, raw: str | bytes, feed: str = "public") -> Parsed:
        """Map one frame to tick rows and events; acks and pongs map to nothing."""
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            if raw == b"pong" or raw == "pong":  # the heartbeat's reply: the one frame not JSON
                return Parsed([], [])
            raise self._unknown("not JSON", raw) from None
        if type(msg) is not dict:
            raise self._unknown("not a JSON object", raw)
        event = msg.get("event")
        if event is None:
            return self._push(msg, raw)
        if type(event) is not str:  # never str() a decoded value: deep JSON overflows repr
            raise self._unknown("event is not a string", raw)
        return self._event(event, msg, raw, feed)

    def _push(self, msg: dict[str, Any], raw: str | bytes) -> Parsed:
        arg, data = msg.get("arg"), msg.get("data")
        if type(arg) is not dict or type(data) is not list:
            raise self._unknown("push without arg and data", raw)
        channel = arg.get("channel")
        if type(channel) is not str:
            raise self._unknown("push without a channel", raw)
        lean = self._lean.get(channel)
        if lean is not None:
            try:
                return Parsed(lean(data), [])
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                why = f"{type(exc).__name__}: {exc}"
                raise self._unknown(f"{channel}: bad item ({why})", raw) from None
        handler = self._private.get(channel)
        if handler is None:
            raise self._unknown(f"unknown channel {channel!r}", raw)
        try:
            return Parsed([], handler(data))
        except ValidationError as exc:
            fields = ",".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise self._unknown(f"{channel}: invalid {fields}", raw) from None
        except (ValueError, TypeError, ArithmeticError, OSError, RecursionError) as exc:
            # A value the models let through that an event refuses (a time datetime cannot
            # hold): the frame is malformed, whatever raised it.
            raise self._unknown(f"{channel}: bad item ({type(exc).__name__})", raw) from None

    def _event(self, event: str, msg: dict[str, Any], raw: str | bytes, feed: str) -> Parsed:
        code = scalar(msg.get("code"))
        text = scalar(msg.get("msg"))
        if event in _ACKS:
            return Parsed([], [])
        if event == "login" and code == "0":
            return self._status(feed, "logged_in", "", text)
        if event == "login" or (event == "error" and code in _LOGIN_FAILURES):
            return self._status(feed, "login_failed", code, text)
        if event == "error":
            return self._status(feed, "error", code, text)
        if event == "notice" and code == _SERVICE_UPGRADE:
            return self._status(feed, "closing", code, text)
        if event == "channel-conn-count-error":
            count = f"{scalar(msg.get('channel'))} ({scalar(msg.get('connCount'))})"
            return self._status(feed, "error", code, f"too many connections on channel {count}")
        raise self._unknown(f"unknown event {event!r}", raw)

    def _status(self, feed: str, status: FeedState, code: str, detail: str) -> Parsed:
        event = FeedStatus(
            venue=self.name,
            feed=feed,
            status=status,
            code=code,
            detail=sample(self._redact(detail)),  # OKX echoes bad requests back in `msg`
            at=datetime.now(UTC),
        )
        return Parsed([], [event])

    def _redact(self, text: str) -> str:
        if self.credentials is None:
            return text
        secrets = (self.credentials.api_key, self.credentials.passphrase)
        return redacted(text, (s.get_secret_value() for s in secrets))

    def _unknown(self, reason: str, raw: str | bytes) -> UnknownMessage:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        # The reason may echo the frame (a channel, an event name): redacted like the sample.
        return UnknownMessage(self.name, self._redact(reason), self._redact(text))

    def _orders(self, data: list[Any]) -> list[Event]:
        events: list[Event] = []
        for order in _ORDERS.validate_python(data):
            events.append(order.to_event(self.name, self.account))
            fill = order.to_fill(self.name, self.account)
            if fill is not None:
                events.append(fill)
        return events

    def _fills(self, data: list[Any]) -> list[Event]:
        return [f.to_event(self.name, self.account) for f in _FILLS.validate_python(data)]

    def _positions(self, data: list[Any]) -> list[Event]:
        return [p.to_event(self.name, self.account) for p in _POSITIONS.validate_python(data)]

    def _liquidation_warnings(self, data: list[Any]) -> list[Event]:
        positions = _POSITIONS.validate_python(data)
        return [p.to_event(self.name, self.account, warning=True) for p in positions]

    def _accounts(self, data: list[Any]) -> list[Event]:
        return [a.to_event(self.name, self.account) for a in _ACCOUNTS.validate_python(data)]

    def _balance_and_position(self, data: list[Any]) -> list[Event]:
        events: list[Event] = []
        for item in _BALANCE_AND_POSITION.validate_python(data):
            events.append(item.to_event(self.name, self.account))
            events.extend(item.positions(self.name, self.account))
        return events

    def _algo_orders(self, data: list[Any]) -> list[Event]:
        return [a.to_event(self.name, self.account) for a in _ALGO_ORDERS.validate_python(data)]

    def public_subscriptions(self, series: Iterable[tuple[str, str]]) -> list[str]:
        """Return subscribe frames for (market, source) pairs: last, bid and ask = tickers,
        mark = mark-price, index = index-tickers of the market's index (ticks.TickPlan)."""
        return _subscribe_frames(TickPlan(series).args())

    def private_subscriptions(self) -> list[str]:
        """Return the subscribe frame for the account's orders, positions and balances."""
        return _subscribe_frames(
            [
                {"channel": "orders", "instType": "ANY"},
                {"channel": "positions", "instType": "ANY"},
                {"channel": "account"},
                {"channel": "liquidation-warning", "instType": "ANY"},
            ]
        )

    def login(self) -> str:
        """Return a fresh login frame (it expires 30 s after its timestamp)."""
        if self.credentials is None:
            raise ConfigError("okx: the private feed needs credentials")
        return login_frame(self.credentials, time.time())

    def feeds(self, series: Iterable[tuple[str, str]], private: bool) -> list[Feed]:
        """Describe the connections to hold: public tickers when any, and the private feed."""
        feeds: list[Feed] = []
        plan = TickPlan(series)
        self._lean = plan.lean()  # rows for exactly the sources the rules watch
        subscriptions = _subscribe_frames(plan.args())
        if subscriptions:
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="public",
                    url=self._public_url,
                    subscribe=tuple(subscriptions),
                    parse=self.parse,  # feed="public": a partial would cost 0.15 us a frame
                    heartbeat=HEARTBEAT,
                    headers=self.headers,
                )
            )
        if private:
            if self.credentials is None:
                raise ConfigError("okx: the private feed needs credentials")
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="private",
                    url=self._private_url,
                    subscribe=tuple(self.private_subscriptions()),
                    parse=partial(self.parse, feed="private"),
                    heartbeat=HEARTBEAT,
                    headers=self.headers,
                    login=self.login,
                    private=True,
                )
            )
        return feeds

    def _public_url(self) -> str:
        return self.public_url

    def _private_url(self) -> str:
        return self.private_url

    @classmethod
    def market_problem(cls, market: str) -> str:
        """Say why `market` is not an OKX instId, with the likely one ("" if it is one)."""
        return market_problem(market)

    @classmethod
    def position_problem(cls, market: str) -> str:
        """Say why `market` holds no position to close ("" when it does)."""
        return position_problem(market)

    def trading(self, timeout: float = 10.0) -> Trading:
        """Return a REST client for this account (needs credentials)."""
        if self.credentials is None:
            raise ConfigError("okx: REST calls need credentials")
        return OkxRest(
            self.credentials, self.rest_url, demo=self.demo, timeout=timeout, account=self.account
        )
