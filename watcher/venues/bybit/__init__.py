"""Bybit v5: everything Bybit-specific (endpoints, signing, wire models, parsing, REST).

auth.py signs, wire.py holds the payload models, tickers.py is the lean public-ticker path
(snapshot + delta merge), replies.py reads acks, pongs and auth replies, venue.py builds feeds
and parses the private stream, rest_http.py signs REST calls and sorts their failures, rest.py
is the account's Trading (orders by orderLinkId, order lookup, fills since, key permissions),
settings.py reads KLAXON_BYBIT_*. A market is named <category>:<symbol> (linear:BTCUSDT,
spot:BTCUSDT, option:BTC-6JAN23-17500-C).
"""

from watcher.venues.bybit.auth import (
    BybitCredentials,
    auth_frame,
    auth_sign,
    rest_headers,
    rest_sign,
)
from watcher.venues.bybit.rest import BybitRest
from watcher.venues.bybit.rest_http import default_rest_url, query_string
from watcher.venues.bybit.settings import BybitSettings
from watcher.venues.bybit.tickers import TickerBook
from watcher.venues.bybit.venue import (
    HEARTBEAT,
    MAX_ARGS_CHARS,
    PING,
    Bybit,
    default_private_url,
    default_public_url,
)
from watcher.venues.bybit.wire import market_name, split_market

__all__ = [
    "HEARTBEAT",
    "MAX_ARGS_CHARS",
    "PING",
    "Bybit",
    "BybitCredentials",
    "BybitRest",
    "BybitSettings",
    "TickerBook",
    "auth_frame",
    "auth_sign",
    "default_private_url",
    "default_public_url",
    "default_rest_url",
    "market_name",
    "query_string",
    "rest_headers",
    "rest_sign",
    "split_market",
]
