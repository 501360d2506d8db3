"""Property: every venue parser, fed mutated documented frames, returns events that publish or
raises UnknownMessage, and nothing else (tests/mutations.py).

100 examples of 25 frames per parser, derandomized: CI runs the same 2,500 frames per parser
every time (one-off runs of 100,000 to 200,000 frames per venue find nothing more).
A venue adds its parse function and documented frames as one line of PARSERS.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mutations import SEEDS, batch, check_outcome, fixtures
from watcher.venues import Parsed
from watcher.venues.binance import Binance
from watcher.venues.binanceusdm import BinanceUsdm
from watcher.venues.bybit import Bybit
from watcher.venues.bybit.tickers import TickerBook
from watcher.venues.okx import Okx, OkxCredentials

DATA = Path(__file__).resolve().parents[1] / "data"
OKX = Okx("main", OkxCredentials(api_key="key-F1", secret_key="sec-F2", passphrase="pass-F3"))

OKX_FRAMES = fixtures(DATA / "okx", "okx_ws_*.json")
SPOT, USDM = Binance("main"), BinanceUsdm("main")
# WebSocket market data and user data streams, WebSocket API replies (not REST replies).
SPOT_FRAMES = fixtures(DATA / "binance", "binance_spot_[uw]*.json")
USDM_FRAMES = fixtures(DATA / "binance", "binance_futures_[uw]*.json")
BYBIT = Bybit("main")
BYBIT_FRAMES = fixtures(DATA / "bybit", "bybit_ws_*.json")

# (venue name, parse function, documented frames), by test id
PARSERS: dict[str, tuple[str, Callable[[bytes], Parsed], list[Any]]] = {
    "okx public": ("okx", OKX.parse, OKX_FRAMES),
    "okx private": ("okx", partial(OKX.parse, feed="private"), OKX_FRAMES),
    "binance": ("binance", partial(SPOT.parse, feed="private"), SPOT_FRAMES),
    "binanceusdm": ("binanceusdm", partial(USDM.parse, feed="private"), USDM_FRAMES),
    "bybit linear": ("bybit", TickerBook("linear", "public-linear").parse, BYBIT_FRAMES),
    "bybit private": ("bybit", BYBIT.parse, BYBIT_FRAMES),
}


@pytest.mark.parametrize(("venue", "parse", "frames"), PARSERS.values(), ids=PARSERS.keys())
@settings(
    max_examples=100,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_a_mutated_frame_parses_to_what_publishes_or_is_unknown(
    venue: str, parse: Callable[[bytes], Parsed], frames: list[Any], data: st.DataObject
) -> None:
    for raw in batch(frames, data.draw(SEEDS, label="seed")):
        check_outcome(parse, raw, venue)
