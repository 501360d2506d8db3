"""How klaxon names a Bybit market (`<category>:<symbol>`), and the name a user most likely
meant: Bybit lists BTCUSDT as spot and as linear, so the category is part of the name.

Symbols are upper-case letters and digits, dated futures and options dashed
(`linear:BTCUSDT`, `inverse:BTCUSD`, `linear:BTC-26DEC25`, `option:BTC-6JAN23-17500-C`).
https://bybit-exchange.github.io/docs/v5/market/instrument
"""

from __future__ import annotations

import re

from watcher.venues.bybit.wire import CATEGORIES

SYMBOL = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_QUOTES = ("USDT", "USDC", "USD")
_OPTION = re.compile(r"[A-Z0-9]+-[0-9]{1,2}[A-Z]{3}[0-9]{2}-[0-9.]+-[CP](?:-[A-Z]+)?")


def market_problem(market: str) -> str:
    """Say why `market` is not a Bybit market name, with the likely one ("" when it is one)."""
    category, colon, symbol = market.partition(":")
    if colon and category in CATEGORIES and SYMBOL.fullmatch(symbol):
        return ""
    problem = (
        f"{market!r} is not a Bybit market: write <category>:<symbol> with a category of "
        f"{', '.join(CATEGORIES)} (such as linear:BTCUSDT)"
    )
    guesses = _guesses(market)
    if not guesses:
        return problem
    if len(guesses) == 1:
        return f"{problem}; did you mean {guesses[0]!r}?"
    return f"{problem}; did you mean {guesses[0]!r} (or {guesses[1]!r})?"


def _guesses(market: str) -> list[str]:
    """Return the names `market` most likely means, the likelier first."""
    category, colon, symbol = market.strip().partition(":")
    if colon:
        categories = [category.lower()] if category.lower() in CATEGORIES else []
    else:
        category, symbol = "", market.strip()
        categories = []
    symbol = symbol.upper().replace("/", "-").replace("_", "-")
    if symbol.endswith(("-SWAP", "-PERP")):
        symbol, categories = symbol[:-5], categories or ["linear"]
    parts = symbol.split("-")
    if len(parts) == 2 and parts[1] in _QUOTES:  # OKX's BTC-USDT
        symbol = "".join(parts)
    if not categories:
        option = _OPTION.fullmatch(symbol)
        categories = ["option"] if option else ["linear", "spot"]
    if not SYMBOL.fullmatch(symbol):
        return []
    return [name for c in categories if (name := f"{c}:{symbol}") != market]
