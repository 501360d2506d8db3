"""Each venue's market spelling: what it accepts, and the spelling it suggests for the rest."""

from __future__ import annotations

import pytest

from watcher.venues import VENUES, market_problem


@pytest.mark.parametrize(
    ("venue", "market"),
    [
        ("okx", "BTC-USDT"),  # spot and margin
        ("okx", "1INCH-USDT"),
        ("okx", "BTC-USDT-SWAP"),
        ("okx", "BTC-USD-SWAP"),
        ("okx", "BTC-USD-240628"),  # futures
        ("okx", "BTC-USD-240628-60000-C"),  # options
        ("okx", "ETH-USD-240628-2500.5-P"),
        ("binance", "BTCUSDT"),
        ("binance", "1000SATSUSDT"),
        ("binanceusdm", "BTCUSDT"),
        ("binanceusdm", "BTCUSDT_250328"),  # a quarterly contract
        ("bybit", "linear:BTCUSDT"),
        ("bybit", "spot:BTCUSDT"),
        ("bybit", "inverse:BTCUSD"),
        ("bybit", "linear:BTC-26DEC25"),
        ("bybit", "option:BTC-6JAN23-17500-C"),
        ("kraken", "anything at all"),  # no registered venue: no format to check against
    ],
)
def test_a_market_spelled_as_its_venue_spells_it_passes(venue: str, market: str) -> None:
    assert market_problem(venue, market) == ""


OKX = "is not an OKX instrument id (such as BTC-USDT, BTC-USDT-SWAP, BTC-USD-240628)"
BINANCE = "is not a Binance symbol (such as BTCUSDT)"
BYBIT = (
    "is not a Bybit market: write <category>:<symbol> with a category of spot, linear, "
    "inverse, option (such as linear:BTCUSDT)"
)


@pytest.mark.parametrize(
    ("venue", "market", "problem"),
    [
        ("okx", "btc-usdt", f"'btc-usdt' {OKX}; did you mean 'BTC-USDT'?"),
        ("okx", "BTCUSDT",
         f"'BTCUSDT' {OKX}; did you mean 'BTC-USDT' (or 'BTC-USDT-SWAP', the perpetual)?"),
        ("okx", "BTC/USDT", f"'BTC/USDT' {OKX}; did you mean 'BTC-USDT'?"),
        ("okx", "btc-usdt-swap", f"'btc-usdt-swap' {OKX}; did you mean 'BTC-USDT-SWAP'?"),
        ("okx", "BTCUSDTPERP", f"'BTCUSDTPERP' {OKX}; did you mean 'BTC-USDT-SWAP'?"),
        ("okx", "linear:BTCUSDT", f"'linear:BTCUSDT' {OKX}; did you mean 'BTC-USDT-SWAP'?"),
        ("okx", "spot:BTCUSDT", f"'spot:BTCUSDT' {OKX}; did you mean 'BTC-USDT'?"),
        ("okx", "BITCOIN", f"'BITCOIN' {OKX}"),  # no quote currency to split at: no guess
        ("binance", "btcusdt", f"'btcusdt' {BINANCE}; did you mean 'BTCUSDT'?"),
        ("binance", "BTC-USDT", f"'BTC-USDT' {BINANCE}; did you mean 'BTCUSDT'?"),
        ("binance", "btc/usdt", f"'btc/usdt' {BINANCE}; did you mean 'BTCUSDT'?"),
        ("binance", "BTC-USDT-SWAP", f"'BTC-USDT-SWAP' {BINANCE}; did you mean 'BTCUSDT'?"),
        ("binance", "BTCUSDT_250328",
         f"'BTCUSDT_250328' {BINANCE}; quarterly contracts are on venue binanceusdm"),
        ("binanceusdm", "linear:BTCUSDT", f"'linear:BTCUSDT' {BINANCE}; did you mean 'BTCUSDT'?"),
        ("binance", "BTC USDT ?", f"'BTC USDT ?' {BINANCE}"),
        ("bybit", "BTCUSDT",
         f"'BTCUSDT' {BYBIT}; did you mean 'linear:BTCUSDT' (or 'spot:BTCUSDT')?"),
        ("bybit", "BTC-USDT",
         f"'BTC-USDT' {BYBIT}; did you mean 'linear:BTCUSDT' (or 'spot:BTCUSDT')?"),
        ("bybit", "BTC-USDT-SWAP", f"'BTC-USDT-SWAP' {BYBIT}; did you mean 'linear:BTCUSDT'?"),
        ("bybit", "linear:btcusdt", f"'linear:btcusdt' {BYBIT}; did you mean 'linear:BTCUSDT'?"),
        ("bybit", "Linear:BTCUSDT", f"'Linear:BTCUSDT' {BYBIT}; did you mean 'linear:BTCUSDT'?"),
        ("bybit", "BTC-6JAN23-17500-C",
         f"'BTC-6JAN23-17500-C' {BYBIT}; did you mean 'option:BTC-6JAN23-17500-C'?"),
        ("bybit", "linear:", f"'linear:' {BYBIT}"),
    ],
)  # fmt: skip
def test_a_misspelled_market_is_refused_with_the_likely_spelling(
    venue: str, market: str, problem: str
) -> None:
    assert market_problem(venue, market) == problem


def test_every_registered_venue_checks_its_own_spelling() -> None:
    # A new venue brings its own check: the registry's classes each refuse some spelling.
    for name, cls in VENUES.items():
        assert cls.market_problem("not a market!"), name
