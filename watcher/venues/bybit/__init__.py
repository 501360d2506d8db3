"""Bybit v5: everything Bybit-specific (endpoints, signing, wire models, parsing, REST).

auth.py signs, wire.py holds the payload models, tickers.py is the lean public-ticker path
(snapshot + delta merge), replies.py reads acks, pongs and auth replies, venue.py builds feeds
and parses the private stream, rest.py places, cancels and queries orders. A market is named
<category>:<symbol> (linear:BTCUSDT, spot:BTCUSDT, option:BTC-6JAN23-17500-C).
"""

from watcher.venues.bybit.auth import (
    BybitCredentials,
    auth_frame,
    auth_sign,
    rest_headers,
    rest_sign,
)
from watcher.venues.bybit.rest import BybitRest, KeyInfo, default_rest_url, query_string
from watcher.venues.bybit.tickers import TickerBook
from watcher.venues.bybit.venue import (
    MAX_ARGS_CHARS,
    PING,
    PING_INTERVAL,
    Bybit,
    default_private_url,
    default_public_url,
)
from watcher.venues.bybit.wire import market_name, split_market

__all__ = [
    "MAX_ARGS_CHARS",
    "PING",
    "PING_INTERVAL",
    "Bybit",
    "BybitCredentials",
    "BybitRest",
    "KeyInfo",
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
