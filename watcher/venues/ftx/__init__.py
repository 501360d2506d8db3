"""FTX (historical): the protocol klaxon started from; the exchange closed in November 2022.

auth.py signs the WebSocket login, wire.py decodes frames (numbers kept as their exact text)
and holds the fills/orders models, venue.py builds the feed and parses it, settings.py reads
KLAXON_FTX_*, trading.py is the read-only Trading (every REST call refused). It runs against
simulator/ftx.
"""

from watcher.venues.ftx.auth import FtxCredentials, login_frame, login_sign
from watcher.venues.ftx.settings import FtxSettings
from watcher.venues.ftx.trading import CLOSED, FtxTrading
from watcher.venues.ftx.venue import HEARTBEAT, PING, Ftx, subscribe

__all__ = [
    "CLOSED",
    "HEARTBEAT",
    "PING",
    "Ftx",
    "FtxCredentials",
    "FtxSettings",
    "FtxTrading",
    "login_frame",
    "login_sign",
    "subscribe",
]
