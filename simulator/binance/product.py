"""Binance spot and USD-M futures: what differs between the two products the package serves.

Paths, listen-key handling, client order id rules, the streams each serves, its heartbeat, and
its codes for the engine's refusals (https://developers.binance.com/docs/binance-spot-api-docs/
errors and .../derivatives/usds-margined-futures/error-code).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from simulator.account import MarginMode
from simulator.admission import Refusal
from simulator.market import Instrument, Kind, default_tick

# Quote assets a symbol may end with (longest first: FDUSD before USD-suffixed ones).
_SPOT_QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "EUR", "TRY", "BTC", "ETH", "BNB")
_USDM_QUOTES = ("USDT", "USDC")
_SYMBOL = re.compile(r"[A-Z0-9]{2,20}")


@dataclass(frozen=True)
class Reject:
    """A refused request: Binance's HTTP status, code and message."""

    status: int
    code: int
    msg: str


@dataclass(frozen=True)
class Product:
    """One Binance product as the simulator serves it."""

    venue: str
    kind: Kind
    quotes: tuple[str, ...]
    margin_mode: MarginMode  # spot trades cash; USD-M cross margin (Binance's default)
    order: str
    trades: str
    listen_key: str
    listen_key_param: bool  # spot's keepalive and close name the key; USD-M's act on the account's
    client_id: re.Pattern[str]
    streams: frozenset[str]  # the stream kinds after "<symbol>@"
    trades_window_h: int  # the longest startTime..endTime of the trade list
    ping_interval: float  # s between server pings
    pong_timeout: float  # s a ping waits for its pong before the connection is dropped
    refusals: Mapping[Refusal, Reject]

    @property
    def futures(self) -> bool:
        """Tells whether this is USD-M futures."""
        return self.kind == "perpetual"

    def instrument(self, symbol: str) -> Instrument | None:
        """Reads a symbol (BTCUSDT): base and quote by the product's quote assets."""
        if not _SYMBOL.fullmatch(symbol):
            return None
        for quote in self.quotes:
            base = symbol[: -len(quote)]
            if symbol.endswith(quote) and base:
                return Instrument(base, quote, self.kind, default_tick(base))
        return None

    def bad_client_id(self, value: str) -> Reject | None:
        """Returns the refusal of a newClientOrderId that breaks the product's rule, or None."""
        if self.client_id.fullmatch(value):
            return None
        if self.futures:
            return Reject(400, -4015, "Client order id is not valid.")
        return Reject(
            400,
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; legal range is "
            f"'{self.client_id.pattern}'.",
        )


_UNKNOWN_ORDER = Reject(400, -2011, "Unknown order sent.")
_REDUCE_ONLY = Reject(400, -2022, "ReduceOnly Order is rejected.")

SPOT = Product(
    venue="binance",
    kind="spot",
    quotes=_SPOT_QUOTES,
    margin_mode="cash",
    order="/api/v3/order",
    trades="/api/v3/myTrades",
    listen_key="/api/v3/userDataStream",
    listen_key_param=True,
    client_id=re.compile(r"^[a-zA-Z0-9-_]{1,36}$"),
    streams=frozenset({"ticker", "bookTicker"}),
    trades_window_h=24,
    ping_interval=20.0,
    pong_timeout=60.0,
    refusals=MappingProxyType(
        {
            Refusal.DUPLICATE_CLIENT_ID: Reject(400, -2010, "Duplicate order sent."),
            Refusal.INSUFFICIENT_BALANCE: Reject(
                400, -2010, "Account has insufficient balance for requested action."
            ),
            Refusal.INSUFFICIENT_MARGIN: Reject(
                400, -2010, "Account has insufficient balance for requested action."
            ),
            Refusal.UNKNOWN_ORDER: _UNKNOWN_ORDER,
            Refusal.NOT_PENDING: _UNKNOWN_ORDER,
        }
    ),
)
USDM = Product(
    venue="binanceusdm",
    kind="perpetual",
    quotes=_USDM_QUOTES,
    margin_mode="cross",
    order="/fapi/v1/order",
    trades="/fapi/v1/userTrades",
    listen_key="/fapi/v1/listenKey",
    listen_key_param=False,
    client_id=re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$"),
    streams=frozenset({"ticker", "bookTicker", "markPrice", "markPrice@1s"}),
    trades_window_h=7 * 24,
    ping_interval=180.0,
    pong_timeout=600.0,
    refusals=MappingProxyType(
        {
            Refusal.DUPLICATE_CLIENT_ID: Reject(400, -4116, "clientOrderId is duplicated"),
            Refusal.INSUFFICIENT_BALANCE: Reject(400, -2019, "Margin is insufficient."),
            Refusal.INSUFFICIENT_MARGIN: Reject(400, -2019, "Margin is insufficient."),
            Refusal.NO_POSITION: _REDUCE_ONLY,
            Refusal.SAME_DIRECTION: _REDUCE_ONLY,
            Refusal.REDUCE_TOO_LARGE: _REDUCE_ONLY,
            Refusal.UNKNOWN_ORDER: _UNKNOWN_ORDER,
            Refusal.NOT_PENDING: _UNKNOWN_ORDER,
        }
    ),
)


def refusal(product: Product, why: Refusal) -> Reject:
    """Returns the product's code for one of the engine's refusals."""
    return product.refusals.get(why, Reject(400, -2010, "NEW_ORDER_REJECTED"))
