"""The Binance USD-M futures venue ("binanceusdm"): Binance's spot venue with the futures hosts.

Its user data events (ORDER_TRADE_UPDATE, TRADE_LITE, ACCOUNT_UPDATE, MARGIN_CALL, ALGO_UPDATE)
are parsed by the shared code, watcher/venues/binance/wire_usdm.py.
https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from watcher.venues import Heartbeat, VenueSettings
from watcher.venues.binance import USDM, Binance, BinanceSettings, Endpoints
from watcher.venues.binance.symbols import USDM_SYMBOL

USDM_STREAM_URL = "wss://fstream.binance.com"
USDM_REST_URL = "https://fapi.binance.com"
# The futures servers ping every 3 minutes (and wait 10 for the pong).
USDM_HEARTBEAT = Heartbeat(interval=200.0, timeout=100.0, frame=None)


class BinanceUsdmSettings(BinanceSettings):
    """One Binance USD-M futures API key and its endpoints: KLAXON_BINANCEUSDM_*."""

    model_config = SettingsConfigDict(env_prefix="KLAXON_BINANCEUSDM_", extra="ignore")


class BinanceUsdm(Binance):
    """Binance USD-M futures; its events carry venue "binanceusdm" and the account."""

    name: ClassVar[str] = "binanceusdm"
    settings_model: ClassVar[type[VenueSettings]] = BinanceUsdmSettings
    live_stream_url: ClassVar[str] = USDM_STREAM_URL
    live_rest_url: ClassVar[str] = USDM_REST_URL
    endpoints: ClassVar[Endpoints] = USDM
    heartbeat: ClassVar[Heartbeat] = USDM_HEARTBEAT
    channels: ClassVar[dict[str, str]] = {
        **Binance.channels,
        "mark": "markPrice@1s",
        "index": "markPrice@1s",  # markPriceUpdate carries the index price too (`i`)
    }
    symbol_format: ClassVar[re.Pattern[str]] = USDM_SYMBOL  # and quarterlies: BTCUSDT_250328
