"""Canonical events: what every venue module produces and every worker consumes.

Money is Decimal built from the exchange's own string, so a price keeps its exact value end to
end; times are aware UTC. Tickers travel through Redis as lean rows (the hot path never builds
a pydantic model per tick); every other event travels as its model's JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal, get_args

import orjson
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from watcher import sanity

Side = Literal["buy", "sell"]
# Every event is valid as it leaves a venue module, and again as a worker decodes it: finite
# amounts of sane magnitude, positive prices, times within watcher.sanity's window.
Amount = Annotated[Decimal, AfterValidator(sanity.amount)]
Positive = Annotated[Decimal, AfterValidator(sanity.positive)]  # prices, fill sizes
Instant = Annotated[AwareDatetime, AfterValidator(sanity.instant)]
Market = Annotated[str, Field(min_length=1, max_length=sanity.MAX_TEXT)]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    venue: str
    at: Instant


PriceSource = Literal["last", "bid", "ask", "mark", "index"]
PRICE_SOURCES: tuple[PriceSource, ...] = ("last", "bid", "ask", "mark", "index")


class Ticker(_Event):
    """A price observation for one market and source: the last trade, the best bid or ask, the
    mark or the index price; each source is a series of its own."""

    kind: Literal["ticker"] = "ticker"
    market: Market
    source: PriceSource = "last"
    price: Positive
    bid: Positive | None = None
    ask: Positive | None = None


class Fill(_Event):
    """One execution of one of the account's orders."""

    kind: Literal["fill"] = "fill"
    account: str
    market: Market
    side: Side
    price: Positive
    size: Positive
    fee: Amount | None = None
    fee_ccy: str = ""
    trade_id: str
    order_id: str
    client_order_id: str = ""
    liquidity: Literal["maker", "taker", ""] = ""
    late: bool = False  # fetched over REST after a reconnect, not pushed live


# The canonical order states and types: OKX's words (its `orders`, `orders-algo` and
# `algo-advance` channels), then klaxon's own where OKX has none. Every venue module maps its
# venue's words to these (each venue's table: docs/rules/order.md); a word it does not know makes
# its frame an UnknownMessage at the edge, counted and logged like any malformed frame.
OrderState = Literal[
    # plain orders
    "live", "partially_filled", "filled", "canceled", "mmp_canceled",
    # algo orders: effective = triggered, its order placed; order_failed = its order refused
    "effective", "partially_effective", "order_failed", "partially_failed", "pause",
    # klaxon's: its trigger held, the order is being placed (Binance's algo TRIGGERING);
    # refused by the venue (Binance REJECTED, Bybit Rejected); ended by the venue under its own
    # rules, such as an IOC's rest or self-trade prevention (Binance EXPIRED)
    "triggered", "rejected", "expired",
]  # fmt: skip
ORDER_STATES: tuple[OrderState, ...] = get_args(OrderState)
OrderType = Literal[
    # plain orders
    "market", "limit", "post_only", "fok", "ioc", "optimal_limit_ioc", "mmp",
    "mmp_and_post_only", "op_fok", "elp",
    # algo orders: conditional = a take-profit or stop-loss, move_order_stop = a trailing stop
    "conditional", "oco", "trigger", "move_order_stop", "iceberg", "twap", "chase",
    # klaxon's: the venue's own order closing a position it liquidates (Binance LIQUIDATION)
    "liquidation",
]  # fmt: skip
ORDER_TYPES: tuple[OrderType, ...] = get_args(OrderType)


class OrderUpdate(_Event):
    """A change of state of one of the account's orders (plain or algo), in canonical words."""

    kind: Literal["order"] = "order"
    account: str
    market: Market
    order_id: str
    client_order_id: str = ""
    side: Side
    order_type: OrderType
    state: OrderState
    size: Amount
    filled: Amount = Decimal(0)
    price: Amount | None = None
    avg_price: Amount | None = None
    algo: bool = False
    code: str = ""
    message: str = ""
    late: bool = False  # fetched over REST after a reconnect, not pushed live


class PositionUpdate(_Event):
    """The account's position in one market; `warning` marks a liquidation warning.

    `notional` is the position's value as the venue computes it at the mark price (OKX's
    notionalUsd), `opened_at` when the venue says the position was opened (OKX's cTime).
    """

    kind: Literal["position"] = "position"
    account: str
    market: Market
    side: str
    size: Amount
    avg_price: Amount | None = None
    mark_price: Amount | None = None
    liquidation_price: Amount | None = None
    margin_ratio: Amount | None = None
    unrealized_pnl: Amount | None = None
    notional: Amount | None = None
    opened_at: Instant | None = None
    warning: bool = False


class Balance(BaseModel):
    """One currency's balance inside an AccountUpdate."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ccy: str
    equity: Amount | None = None
    available: Amount | None = None
    cash: Amount | None = None


class AccountUpdate(_Event):
    """Account-level equity and margin, with per-currency balances."""

    kind: Literal["account"] = "account"
    account: str
    total_equity: Amount | None = None
    margin_ratio: Amount | None = None
    balances: tuple[Balance, ...] = ()


FeedState = Literal[
    "connected", "logged_in", "subscribed", "disconnected", "login_failed", "error", "closing",
    # the watcher's monitor (watcher/monitor.py): a condition lasting, then over
    "silent", "down", "listen_key", "recovered",
]  # fmt: skip
# The conditions the monitor reports about a feed (FeedStatus.status, or .code of "recovered").
FEED_CONDITIONS: tuple[FeedState, ...] = ("silent", "down", "login_failed", "listen_key")


class FeedStatus(_Event):
    """The health of one connection: self-monitoring travels as events like any other.

    The connection says what happens as it happens (connected, login_failed, disconnected ...);
    the watcher's monitor reports a condition that lasts, with `since` (when it began) set:
    "silent", "down", "login_failed", "listen_key" after `seconds` of it, then "recovered"
    (`code`: the condition; `seconds`: the longest stretch of it reported) once it is over.
    """

    kind: Literal["feed"] = "feed"
    feed: str
    status: FeedState
    code: str = ""
    detail: str = ""
    account: str = ""
    seconds: float | None = None
    since: AwareDatetime | None = None


class _Notice(BaseModel):
    """An event about klaxon itself, not about a venue: it travels on keys.SYSTEM_STREAM."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: Instant


class EvaluationLag(_Notice):
    """A stream's oldest unevaluated entry is `seconds` old (or, `recovered`, no longer is)."""

    kind: Literal["lag"] = "lag"
    stream: str
    seconds: float  # the oldest entry's age; recovered: the largest age reported
    entries: int  # entries not yet evaluated (0 when recovered)
    since: AwareDatetime  # when the lag began
    recovered: bool = False


class DeadLetterAlert(_Notice):
    """A channel gave up on messages (dead letters) and is now dead (workers/delivery.py)."""

    kind: Literal["dead_letter"] = "dead_letter"
    channel: str
    error: str  # the failure's class, e.g. ChannelRefused (never the service's text or URL)
    count: int  # messages that died in that send
    firing: str  # the firing of the first of them


# An emulated order's states: armed (watching the price), triggered (its trigger held: the real
# order is being placed), placed (the venue took it), then one final state.
EmulatedState = Literal["armed", "triggered", "placed", "filled", "rejected", "canceled", "expired"]


class EmulatedOrder(_Event):
    """A transition of one of klaxon's emulated orders (stop, take-profit, trailing stop, OCO or
    bracket leg), written by the workers to the account's private stream; its real order is
    known to the venue by `client_order_id` (empty until it is triggered)."""

    kind: Literal["emulated"] = "emulated"
    account: str
    market: str
    rule: str  # the rule's name
    order: str  # the rule's kind: stop, take_profit, trailing, oco, bracket
    leg: str = ""  # of an OCO or bracket: take_profit or stop
    state: EmulatedState
    client_order_id: str = ""
    side: Side
    size: Decimal
    ord_type: Literal["market", "limit"]
    price: Decimal | None = None  # the limit price
    trigger: Decimal | None = None  # the level whose crossing fired it (a trailing: its stop)
    fired_at: Decimal | None = None  # the price that fired it
    source: str = "last"
    reduce_only: bool = False
    close_position: bool = False  # its size is the whole position when placed (0 until then)
    order_id: str = ""
    filled: Decimal = Decimal(0)
    avg_price: Decimal | None = None
    code: str = ""  # why it was rejected, canceled or expired (a venue's code, or klaxon's)
    reason: str = ""


class OrderArming(_Event):
    """Arms an emulated order where its market's ticks are evaluated (written by the workers to
    the market's ticker stream, e.g. a bracket's exits once its entry filled)."""

    kind: Literal["arming"] = "arming"
    account: str
    market: str
    rule: str  # the arming rule's id
    arming: str  # this arming's id: one order at most per arming
    size: Decimal  # what the armed order closes (a bracket: the entry's fills so far)
    take_profit: Decimal  # trigger levels
    stop: Decimal


Event = Annotated[
    Ticker
    | Fill
    | OrderUpdate
    | PositionUpdate
    | AccountUpdate
    | FeedStatus
    | EvaluationLag
    | DeadLetterAlert
    | EmulatedOrder
    | OrderArming,
    Field(discriminator="kind"),
]
PrivateEvent = (
    Fill | OrderUpdate | PositionUpdate | AccountUpdate | FeedStatus | EmulatedOrder | OrderArming
)
SystemEvent = EvaluationLag | DeadLetterAlert
_EVENT = TypeAdapter[Event](Event)

# A tick as it travels through Redis: (market, source, price, bid, ask, exchange ms).
# Prices stay the exchange's exact strings; "" means absent.
TickRow = tuple[str, str, str, str, str, int]


def utc_from_ms(ms: int | str) -> datetime:
    """Convert an exchange's epoch milliseconds to an aware UTC datetime (ValueError if absurd)."""
    return datetime.fromtimestamp(sanity.exchange_ms(ms) / 1000, tz=UTC)


def tick_row(t: Ticker) -> TickRow:
    """Return the lean row of a Ticker, as the watcher stores it."""
    ms = int(t.at.timestamp() * 1000)
    return (t.market, t.source, str(t.price), _s(t.bid), _s(t.ask), ms)


def ticker_from_row(venue: str, row: TickRow | list[object]) -> Ticker:
    """Rebuild a Ticker from a lean row (for tools and tests, not the hot path)."""
    market, source, price, bid, ask, ms = row
    return Ticker(
        venue=venue,
        market=str(market),
        source=source,  # validated by pydantic
        price=Decimal(str(price)),
        bid=Decimal(str(bid)) if bid else None,
        ask=Decimal(str(ask)) if ask else None,
        at=utc_from_ms(str(ms)),
    )


def encode_ticks(rows: list[TickRow]) -> bytes:
    """Serialise tick rows for one stream entry."""
    return orjson.dumps(rows)


def decode_ticks(data: bytes) -> list[list[object]]:
    """Parse the tick rows of one stream entry."""
    rows: list[list[object]] = orjson.loads(data)
    return rows


def encode_event(event: PrivateEvent | SystemEvent | Ticker) -> bytes:
    """Serialise a non-tick event for a stream entry (JSON, Decimals as strings)."""
    return event.model_dump_json().encode()


def decode_event(data: bytes | str) -> Event:
    """Parse an event written by encode_event."""
    return _EVENT.validate_json(data)


def _s(value: Decimal | None) -> str:
    return "" if value is None else str(value)
