"""The Binance spot venue ("binance"), which USD-M futures ("binanceusdm", its own package)
extends: endpoints, feeds, and frames -> events (a lean path for market data).

Market data comes on combined streams, `/stream?streams=a/b/c`, named in the URL (no
subscribe frame: a connection takes only 5 incoming messages a second), at most
`streams_per_connection` streams a connection (Binance allows 1024). User data comes on
`/ws/<listenKey>`. Binance ends every connection after 24 hours; the feeds renew theirs before.
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar, Self

import orjson
from pydantic import ValidationError

from watcher.errors import ConfigError, UnknownMessage, redacted, sample
from watcher.events import Event, FeedState, FeedStatus
from watcher.sanity import scalar
from watcher.venues import Feed, Heartbeat, Parsed, VenueSettings
from watcher.venues.binance.auth import DEFAULT_RECV_WINDOW, BinanceCredentials
from watcher.venues.binance.listen_key import ListenKeys
from watcher.venues.binance.rest import SPOT, BinanceRest, Endpoints
from watcher.venues.binance.settings import (
    MAX_STREAMS_PER_CONNECTION,
    STREAMS_PER_CONNECTION,
    BinanceSettings,
)
from watcher.venues.binance.symbols import SPOT_SYMBOL, symbol_problem
from watcher.venues.binance.ticks import LEAN
from watcher.venues.binance.wire import ExecutionReport, OutboundAccountPosition
from watcher.venues.binance.wire_usdm import (
    AlgoUpdate,
    ConditionalOrderTriggerReject,
    MarginCall,
    OrderTradeUpdate,
    TradeLite,
    UsdmAccountUpdate,
)

log = logging.getLogger(__name__)

SPOT_STREAM_URL = "wss://stream.binance.com:9443"
SPOT_REST_URL = "https://api.binance.com"
MAX_CONNECTION_AGE = 23.5 * 3600  # seconds: Binance closes a connection at 24 hours
# Binance's servers ping (spot every 20 s) and want a pong; there is no JSON ping to send. A
# connection that long without even a ping is dead: make a new one.
# https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams
SPOT_HEARTBEAT = Heartbeat(interval=30.0, timeout=30.0, frame=None)

# Events that make nothing: balanceUpdate's delta reaches the balance in the
# outboundAccountPosition that follows it; listStatus's legs each have their executionReport.
_NOTHING = frozenset({"balanceUpdate", "listStatus"})
_CLOSING = {
    "serverShutdown": "the server is shutting down",
    "listenKeyExpired": "the listen key expired",
}


class Binance:
    """Binance spot over WebSocket and REST; its events carry venue "binance" and the account."""

    name: ClassVar[str] = "binance"
    settings_model: ClassVar[type[VenueSettings]] = BinanceSettings
    live_stream_url: ClassVar[str] = SPOT_STREAM_URL
    live_rest_url: ClassVar[str] = SPOT_REST_URL
    endpoints: ClassVar[Endpoints] = SPOT
    heartbeat: ClassVar[Heartbeat] = SPOT_HEARTBEAT
    # price source -> the stream that carries it
    channels: ClassVar[dict[str, str]] = {
        "last": "ticker",
        "bid": "bookTicker",
        "ask": "bookTicker",
    }
    symbol_format: ClassVar[re.Pattern[str]] = SPOT_SYMBOL

    def __init__(
        self,
        account: str = "",
        credentials: BinanceCredentials | None = None,
        *,
        stream_url: str | None = None,
        rest_url: str | None = None,
        permissions_url: str | None = None,
        streams_per_connection: int = STREAMS_PER_CONNECTION,
        max_connection_age: float = MAX_CONNECTION_AGE,
        recv_window: int = DEFAULT_RECV_WINDOW,
    ) -> None:
        if not 0 < streams_per_connection <= MAX_STREAMS_PER_CONNECTION:
            raise ConfigError(
                f"{self.name}: streams per connection must be 1..{MAX_STREAMS_PER_CONNECTION}"
            )
        self.account = account
        self.credentials = credentials
        self.stream_url = (stream_url or self.live_stream_url).rstrip("/")
        self.rest_url = rest_url or self.live_rest_url
        # Key permissions are answered by the spot host, for a USD-M key too.
        self.permissions_url = permissions_url or (rest_url or SPOT_REST_URL)
        self.streams_per_connection = streams_per_connection
        self.max_connection_age = max_connection_age
        self.recv_window = recv_window
        self.listen_keys: ListenKeys | None = None
        if credentials is not None:
            self.listen_keys = ListenKeys(self.trading(), self.stream_url)
        self._events: dict[str, Callable[[dict[str, Any]], list[Event]]] = {
            "executionReport": self._execution_report,
            "outboundAccountPosition": self._account_position,
            "ORDER_TRADE_UPDATE": self._order_trade_update,
            "TRADE_LITE": self._trade_lite,
            "ACCOUNT_UPDATE": self._account_update,
            "MARGIN_CALL": self._margin_call,
            "ALGO_UPDATE": self._algo_update,
            "CONDITIONAL_ORDER_TRIGGER_REJECT": self._trigger_reject,
        }

    @classmethod
    def from_settings(cls, account: str, settings: VenueSettings) -> Self:
        """Build `account` from its settings (an instance of exactly its settings_model)."""
        if type(settings) is not cls.settings_model or not isinstance(settings, BinanceSettings):
            expected = cls.settings_model.__name__
            raise TypeError(f"{cls.name}: expected {expected}, got {type(settings).__name__}")
        return cls(
            account,
            settings.credentials(),
            stream_url=settings.stream_url,
            rest_url=settings.rest_url,
            permissions_url=settings.permissions_url,
            streams_per_connection=settings.streams_per_connection,
            recv_window=settings.recv_window,
        )

    @classmethod
    def source_problem(cls, market: str, source: str) -> str:
        """Say why this venue streams no `source` price ("" when one of its streams does)."""
        if source in cls.channels:
            return ""
        return f"{cls.name} streams no {source!r} price (it has {', '.join(cls.channels)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, stream_url={self.stream_url!r})"

    @property
    def has_credentials(self) -> bool:
        """Whether an API key is set (the private feed and trading need one)."""
        return self.credentials is not None

    def parse(self, raw: str | bytes, feed: str = "public") -> Parsed:
        """Map one frame to tick rows and events; acks map to nothing."""
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise self._unknown("not JSON", raw) from None
        if type(msg) is not dict:
            raise self._unknown("not a JSON object", raw)
        data = msg.get("data")
        if data is not None:  # a combined stream's push: {"stream": ..., "data": {...}}
            if type(data) is not dict:
                raise self._unknown("data is not an object", raw)
            lean = LEAN.get(data.get("e"))
            if lean is not None:
                try:
                    return Parsed(lean(data), [])
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise self._unknown(f"bad market data ({type(exc).__name__})", raw) from None
            msg = data
        return self._message(msg, raw, feed)

    def _message(self, msg: dict[str, Any], raw: str | bytes, feed: str) -> Parsed:
        event = msg.get("e")
        if event is not None:
            return self._event(event, msg, raw, feed)
        if "subscriptionId" in msg and type(msg.get("event")) is dict:  # WebSocket API wrapper
            return self._event(msg["event"].get("e"), msg["event"], raw, feed)
        if "id" in msg and "result" in msg:  # a subscription request's reply
            return Parsed([], [])
        if "id" in msg and "status" in msg:  # a WebSocket API reply
            return self._api_reply(msg, feed)
        if "code" in msg and "msg" in msg:  # a refused request
            return self._status(feed, "error", scalar(msg["code"]), scalar(msg["msg"]))
        raise self._unknown("no event, reply or error", raw)

    def _event(self, event: object, msg: dict[str, Any], raw: str | bytes, feed: str) -> Parsed:
        if type(event) is not str:
            raise self._unknown("event type is not a string", raw)
        handler = self._events.get(event)
        try:
            if handler is not None:
                return Parsed([], handler(msg))
            lean = LEAN.get(event)
            if lean is not None:  # market data on a raw /ws/<stream> connection
                return Parsed(lean(msg), [])
        except ValidationError as exc:
            fields = ",".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise self._unknown(f"{event}: invalid {sample(fields, 80)}", raw) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._unknown(f"{event}: bad market data ({type(exc).__name__})", raw) from None
        if event in _NOTHING:
            return Parsed([], [])
        closing = _CLOSING.get(event)
        if closing is not None:
            return self._status(feed, "closing", event, closing)
        raise self._unknown(f"unknown event {sample(event, 40)!r}", raw)

    def _api_reply(self, msg: dict[str, Any], feed: str) -> Parsed:
        status = msg["status"]
        if status == 200:
            return Parsed([], [])
        error = msg.get("error")
        code, text = ("", "") if type(error) is not dict else (error.get("code"), error.get("msg"))
        state: FeedState = "login_failed" if status == 401 else "error"
        # scalar(), never str(): a decoded value nested deep enough overflows repr.
        return self._status(feed, state, scalar(code), f"HTTP {scalar(status)}: {scalar(text)}")

    def _status(self, feed: str, status: FeedState, code: str, detail: str) -> Parsed:
        event = FeedStatus(
            venue=self.name,
            feed=feed,
            status=status,
            code=sample(code, 40),
            detail=sample(self._redact(detail)),  # a refused request may echo what it got
            at=datetime.now(UTC),
        )
        return Parsed([], [event])

    def _redact(self, text: str) -> str:
        secrets = [self.listen_keys.key] if self.listen_keys is not None else []
        if self.credentials is not None:
            secrets.append(self.credentials.api_key.get_secret_value())
        return redacted(text, secrets)

    def _unknown(self, reason: str, raw: str | bytes) -> UnknownMessage:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return UnknownMessage(self.name, self._redact(reason), self._redact(text))

    def _execution_report(self, msg: dict[str, Any]) -> list[Event]:
        report = ExecutionReport.model_validate(msg)
        fill = report.to_fill(self.name, self.account)
        order = report.to_event(self.name, self.account)
        return [order] if fill is None else [order, fill]

    def _account_position(self, msg: dict[str, Any]) -> list[Event]:
        return [OutboundAccountPosition.model_validate(msg).to_event(self.name, self.account)]

    def _order_trade_update(self, msg: dict[str, Any]) -> list[Event]:
        return [*OrderTradeUpdate.model_validate(msg).to_events(self.name, self.account)]

    def _trade_lite(self, msg: dict[str, Any]) -> list[Event]:
        return [TradeLite.model_validate(msg).to_event(self.name, self.account)]

    def _account_update(self, msg: dict[str, Any]) -> list[Event]:
        return [*UsdmAccountUpdate.model_validate(msg).to_events(self.name, self.account)]

    def _margin_call(self, msg: dict[str, Any]) -> list[Event]:
        return [*MarginCall.model_validate(msg).to_events(self.name, self.account)]

    def _algo_update(self, msg: dict[str, Any]) -> list[Event]:
        return [AlgoUpdate.model_validate(msg).to_event(self.name, self.account)]

    def _trigger_reject(self, msg: dict[str, Any]) -> list[Event]:
        rejected = ConditionalOrderTriggerReject.model_validate(msg).rejected
        log.warning(
            "%s %s: conditional order %s on %s was not triggered: %s",
            self.name,
            self.account,
            rejected.i,
            rejected.s,
            sample(rejected.r),
        )
        return []

    def public_streams(self, series: Iterable[tuple[str, str]]) -> list[str]:
        """Return the stream names for (market, source) pairs, sorted and without repeats."""
        streams: set[str] = set()
        for market, source in series:
            channel = self.channels.get(source)
            if channel is None:
                known = ", ".join(sorted(self.channels))
                raise ConfigError(f"{self.name}: no price source {source!r} ({known}) for {market}")
            problem = self.market_problem(market)
            if problem:
                raise ConfigError(f"{self.name}: {problem}")
            streams.add(f"{market.lower()}@{channel}")
        return sorted(streams)

    def public_urls(self, series: Iterable[tuple[str, str]]) -> list[str]:
        """Return one combined-stream URL per connection, each naming at most the cap."""
        streams = self.public_streams(series)
        size = self.streams_per_connection
        return [
            f"{self.stream_url}/stream?streams={'/'.join(streams[i : i + size])}"
            for i in range(0, len(streams), size)
        ]

    def feeds(self, series: Iterable[tuple[str, str]], private: bool) -> list[Feed]:
        """Describe the connections: one per streams_per_connection streams, and user data."""
        feeds: list[Feed] = []
        for i, url in enumerate(self.public_urls(series)):
            name = "public" if i == 0 else f"public-{i + 1}"
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name=name,
                    url=partial(_as_is, url),
                    subscribe=(),
                    # feed="public" by default: a partial costs 0.15 us a frame
                    parse=self.parse if i == 0 else partial(self.parse, feed=name),
                    heartbeat=self.heartbeat,
                    max_age=self.max_connection_age,
                )
            )
        if private:
            if self.listen_keys is None:
                raise ConfigError(f"{self.name}: the private feed needs credentials")
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="private",
                    url=self.listen_keys.url,  # a listen key asked for at every connect
                    subscribe=(),
                    parse=partial(self.parse, feed="private"),
                    heartbeat=self.heartbeat,
                    max_age=self.max_connection_age,
                    private=True,  # the watcher backfills its gaps (BinanceRest.fills_in)
                    trouble=self.listen_keys.trouble,
                )
            )
        return feeds

    @classmethod
    def market_problem(cls, market: str) -> str:
        """Say why `market` is not a symbol of this venue, with the likely one ("" if it is)."""
        return symbol_problem(market, cls.symbol_format)

    def trading(self, timeout: float = 10.0) -> BinanceRest:
        """Return the account's REST client (needs credentials)."""
        if self.credentials is None:
            raise ConfigError(f"{self.name}: REST calls need credentials")
        return BinanceRest(
            self.credentials,
            self.rest_url,
            self.endpoints,
            venue=self.name,
            account=self.account,
            permissions_url=self.permissions_url,
            recv_window=self.recv_window,
            timeout=timeout,
        )

    def close(self) -> None:
        """Stop keeping the listen key alive."""
        if self.listen_keys is not None:
            self.listen_keys.stop()


def _as_is(url: str) -> str:
    return url
