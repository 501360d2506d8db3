"""Binance USD-M futures: the Binance venue (watcher/venues/binance) with the futures hosts,
REST paths, mark-price stream, heartbeat and settings."""

from watcher.venues.binanceusdm.venue import (
    USDM_HEARTBEAT,
    USDM_REST_URL,
    USDM_STREAM_URL,
    BinanceUsdm,
    BinanceUsdmSettings,
)

__all__ = [
    "USDM_HEARTBEAT",
    "USDM_REST_URL",
    "USDM_STREAM_URL",
    "BinanceUsdm",
    "BinanceUsdmSettings",
]
