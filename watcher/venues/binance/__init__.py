"""Binance spot, and the code USD-M futures (watcher/venues/binanceusdm) shares: endpoints,
signing, wire models, parsing, REST.

auth.py signs, wire*.py hold the payload models, ticks.py the lean market-data path, venue.py
parses frames and describes the feeds, rest.py is the account's Trading (orders, order lookup,
fills, key permissions, listen keys), listen_key.py keeps the user data stream's key alive,
settings.py reads KLAXON_BINANCE_* / KLAXON_BINANCEUSDM_*.
"""

from watcher.venues.binance.auth import BinanceCredentials, Signer, query_string
from watcher.venues.binance.listen_key import ListenKeys
from watcher.venues.binance.rest import SPOT, USDM, BinanceRest, Endpoints
from watcher.venues.binance.settings import (
    MAX_STREAMS_PER_CONNECTION,
    STREAMS_PER_CONNECTION,
    BinanceSettings,
)
from watcher.venues.binance.ticks import book_rows, mark_price_rows, ticker_rows
from watcher.venues.binance.venue import MAX_CONNECTION_AGE, Binance

__all__ = [
    "MAX_CONNECTION_AGE",
    "MAX_STREAMS_PER_CONNECTION",
    "SPOT",
    "STREAMS_PER_CONNECTION",
    "USDM",
    "Binance",
    "BinanceCredentials",
    "BinanceRest",
    "BinanceSettings",
    "Endpoints",
    "ListenKeys",
    "Signer",
    "book_rows",
    "mark_price_rows",
    "query_string",
    "ticker_rows",
]
