"""The FTX (historical) venue: one WebSocket per account for tickers, fills and orders.

FTX closed in November 2022; this module keeps the protocol klaxon started from, and runs
against simulator/ftx. docs.ftx.com "Websocket API": requests {"op": "subscribe", "channel",
"market"?}; replies {"type": "subscribed" | "unsubscribed" | "pong" | "error" | "info" |
"partial" | "update", "channel"?, "market"?, "data"?, "code"?, "msg"?}. A client pings
({"op": "ping"}) every 15 s. Login has no reply: a refused one comes back as an error, so the
login frame is sent as the first subscription (LoginThenSubscribe) rather than awaited.
An info frame of code 20001 asks the client to reconnect.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Self, overload

import orjson
from pydantic import ValidationError

from watcher.errors import ConfigError, UnknownMessage, redacted, sample
from watcher.events import Event, FeedState, FeedStatus, TickRow
from watcher.sanity import MAX_TEXT, scalar, tick
from watcher.venues import Feed, Heartbeat, Parsed, Trading, VenueSettings
from watcher.venues.ftx.auth import FtxCredentials, login_frame
from watcher.venues.ftx.settings import FtxSettings
from watcher.venues.ftx.trading import FtxTrading
from watcher.venues.ftx.wire import VENUE, FtxFill, FtxOrder, decode, number, seconds_to_ms

DEFAULT_URL = "wss://ftx.com/ws/"  # closed since November 2022
PING = '{"op":"ping"}'
HEARTBEAT = Heartbeat(interval=15.0, timeout=10.0, frame=PING)
RECONNECT = "20001"  # info code: "the server is restarting, reconnect"
_NOTHING = Parsed([], [])
_ACKS = frozenset({"subscribed", "unsubscribed", "pong"})
# FTX's market names: spot BASE/QUOTE (BTC/USD), futures BASE-PERP or BASE-<expiry> (BTC-0326).
_MARKET = re.compile(r"[A-Z0-9]{1,20}(/[A-Z0-9]{1,20}|-[A-Z0-9]{1,20}(-[A-Z0-9]{1,20})?)")


def subscribe(channel: str, market: str | None = None) -> str:
    """Return a subscribe request for a channel (and market, for public channels)."""
    body: dict[str, str] = {"op": "subscribe", "channel": channel}
    if market is not None:
        body["market"] = market
    return orjson.dumps(body).decode()


class LoginThenSubscribe(Sequence[str]):
    """The frames sent once connected: a fresh login (FTX sends no login reply), then the
    fills and orders subscriptions."""

    def __init__(self, credentials: FtxCredentials, frames: Sequence[str]) -> None:
        self._credentials = credentials
        self._frames = tuple(frames)

    def __len__(self) -> int:
        return 1 + len(self._frames)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return list(self)[index]

    def __iter__(self) -> Iterator[str]:
        yield login_frame(self._credentials, int(time.time() * 1000))
        yield from self._frames

    def __repr__(self) -> str:
        return f"LoginThenSubscribe({self._frames!r})"


class Ftx:
    """FTX (historical) over WebSocket; every event it makes carries venue "ftx"."""

    name: ClassVar[str] = VENUE
    settings_model: ClassVar[type[VenueSettings]] = FtxSettings

    def __init__(
        self, account: str = "", credentials: FtxCredentials | None = None, url: str | None = None
    ) -> None:
        self.account = account
        self.credentials = credentials
        self.url = url or DEFAULT_URL

    @classmethod
    def from_settings(cls, account: str, settings: VenueSettings) -> Self:
        """Build `account` from its FtxSettings."""
        if not isinstance(settings, FtxSettings):
            raise TypeError(f"ftx: expected FtxSettings, got {type(settings).__name__}")
        return cls(account, settings.credentials(), settings.ws_url)

    def __repr__(self) -> str:
        return f"Ftx(account={self.account!r}, url={self.url!r})"

    @property
    def has_credentials(self) -> bool:
        """Whether an API key is set (the private feed needs one)."""
        return self.credentials is not None

    def feeds(self, series: Iterable[tuple[str, str]], private: bool) -> list[Feed]:
        """Describe the connections: the markets' tickers, and the account's fills and orders."""
        markets = sorted({market for market, source in series if self._last(market, source)})
        url, feeds = self.url, []
        if markets:
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="public",
                    url=lambda: url,
                    subscribe=tuple(subscribe("ticker", m) for m in markets),
                    parse=self.parse_public,
                    heartbeat=HEARTBEAT,
                )
            )
        if private:
            if self.credentials is None:
                raise ConfigError("ftx: the private feed needs credentials")
            frames = (subscribe("fills"), subscribe("orders"))
            feeds.append(
                Feed(
                    venue=self.name,
                    account=self.account,
                    name="private",
                    url=lambda: url,
                    subscribe=LoginThenSubscribe(self.credentials, frames),
                    parse=self.parse_private,
                    heartbeat=HEARTBEAT,
                    # private stays False: there is no REST to backfill a reconnect's gap from.
                )
            )
        return feeds

    def parse_public(self, raw: str | bytes) -> Parsed:
        """Map a public frame to tick rows (the lean path); acks and pongs map to nothing."""
        msg = decode(raw, "public")
        if msg.get("channel") != "ticker" or msg.get("type") != "update":
            return self._reply(msg, raw, "public")
        try:
            return Parsed([self.row(msg["market"], msg["data"])], [])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._unknown(f"ticker: bad data ({type(exc).__name__})", raw) from None

    @staticmethod
    def row(market: Any, data: dict[str, Any]) -> TickRow:
        """Return the tick row of a ticker's data: last, bid, ask as sent, time in ms."""
        bid, ask = data.get("bid"), data.get("ask")  # null: an empty side of the book
        return tick(
            market,
            "last",
            number(data["last"]),
            "" if bid is None else number(bid),
            "" if ask is None else number(ask),
            seconds_to_ms(data["time"]),
        )

    def parse_private(self, raw: str | bytes) -> Parsed:
        """Map a private frame to Fill and OrderUpdate events; acks and pongs map to nothing."""
        msg = decode(raw, "private")
        channel = msg.get("channel")
        if msg.get("type") != "update" or channel not in ("fills", "orders"):
            return self._reply(msg, raw, "private")
        try:
            data = msg["data"]
            if channel == "fills":
                events: list[Event] = [FtxFill.model_validate(data).to_event(self.account)]
            else:
                order = FtxOrder.model_validate(data)
                events = [order.to_event(self.account, datetime.now(UTC))]
        except ValidationError as exc:
            fields = ",".join(".".join(map(str, e["loc"])) for e in exc.errors())
            raise self._unknown(f"{channel}: invalid {fields}", raw) from None
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise self._unknown(f"{channel}: bad update ({type(exc).__name__})", raw) from None
        return Parsed([], events)

    @classmethod
    def source_problem(cls, market: str, source: str) -> str:
        """Say why FTX streams no `source` price ("": its ticker channel carries the last)."""
        return "" if source == "last" else f"ftx streams no {source!r} price (it has last)"

    @classmethod
    def market_problem(cls, market: str) -> str:
        """Say why `market` is not an FTX market name, with the likely one ("" if it is)."""
        if _MARKET.fullmatch(market):
            return ""
        problem = f"{market!r} is not an FTX market: write BASE/QUOTE or BASE-PERP (BTC-PERP)"
        upper = market.upper()
        return f"{problem}; did you mean {upper!r}?" if _MARKET.fullmatch(upper) else problem

    def trading(self, timeout: float = 10.0) -> Trading:
        """Return the account's Trading: read-only, every REST call refused (trading.py)."""
        return FtxTrading()

    def _last(self, market: str, source: str) -> bool:
        if source != "last":
            raise ConfigError(f"ftx: the ticker channel carries no {source} price ({market})")
        if not 0 < len(market) <= MAX_TEXT:
            raise ConfigError(f"ftx: bad market name {market!r}")
        return True

    def _reply(self, msg: dict[str, Any], raw: str | bytes, feed: str) -> Parsed:
        kind = msg.get("type")
        if kind in _ACKS:
            return _NOTHING
        code, text = scalar(msg.get("code")), self._redact(scalar(msg.get("msg")))
        if kind == "error":
            failed = "login" in text.lower() or code == "401"
            return self._status(feed, "login_failed" if failed else "error", code, text)
        if kind == "info":
            return self._status(feed, "closing" if code == RECONNECT else "error", code, text)
        raise self._unknown(f"unknown frame type {scalar(kind)!r}", raw)

    def _status(self, feed: str, status: FeedState, code: str, detail: str) -> Parsed:
        event = FeedStatus(
            venue=VENUE,
            feed=feed,
            status=status,
            code=code,
            detail=sample(detail),
            at=datetime.now(UTC),
        )
        return Parsed([], [event])

    def _redact(self, text: str) -> str:
        if self.credentials is None:
            return text
        return redacted(text, (self.credentials.api_key.get_secret_value(),))

    def _unknown(self, reason: str, raw: str | bytes) -> UnknownMessage:
        return UnknownMessage(
            VENUE,
            reason,
            self._redact(raw if isinstance(raw, str) else raw.decode("utf-8", "replace")),
        )
