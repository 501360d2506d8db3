"""OKX v5: everything OKX-specific (endpoints, signing, wire models, parsing, REST).

auth.py signs, wire.py holds the payload models, venue.py parses frames and builds subscribe
frames, ticks.py turns market data into tick rows (one series per price source), rest_http.py
signs REST calls and sorts their failures, rest.py places, cancels and looks up orders, pages
through fills and reads the key's permissions, settings.py reads KLAXON_OKX_*.
"""

from watcher.venues.okx.auth import (
    OkxCredentials,
    login_frame,
    login_sign,
    rest_sign,
    rest_timestamp,
)
from watcher.venues.okx.rest import LIVE_REST_URL, OkxFillRow, OkxRest, read_order_response
from watcher.venues.okx.settings import OkxSettings
from watcher.venues.okx.ticks import (
    TickPlan,
    index_of,
    index_rows,
    mark_price_rows,
    ticker_rows,
)
from watcher.venues.okx.venue import (
    DEMO_PRIVATE_URL,
    DEMO_PUBLIC_URL,
    LIVE_PRIVATE_URL,
    LIVE_PUBLIC_URL,
    MAX_SUBSCRIBE_BYTES,
    Okx,
)

__all__ = [
    "DEMO_PRIVATE_URL",
    "DEMO_PUBLIC_URL",
    "LIVE_PRIVATE_URL",
    "LIVE_PUBLIC_URL",
    "LIVE_REST_URL",
    "MAX_SUBSCRIBE_BYTES",
    "Okx",
    "OkxCredentials",
    "OkxFillRow",
    "OkxRest",
    "OkxSettings",
    "TickPlan",
    "index_of",
    "index_rows",
    "login_frame",
    "login_sign",
    "mark_price_rows",
    "read_order_response",
    "rest_sign",
    "rest_timestamp",
    "ticker_rows",
]
