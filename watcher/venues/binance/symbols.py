"""How Binance spells a market (its symbol), and the spelling a user most likely meant.

Spot symbols are upper-case letters and digits (`BTCUSDT`, `1000SATSUSDT`); USD-M futures add
quarterly contracts with their delivery date (`BTCUSDT_250328`).
https://developers.binance.com/docs/binance-spot-api-docs/rest-api/general-endpoints
"""

from __future__ import annotations

import re

SPOT_SYMBOL = re.compile(r"[A-Z0-9]{2,32}")
USDM_SYMBOL = re.compile(r"[A-Z0-9]{2,32}(?:_[0-9]{6})?")
_CATEGORY = re.compile(r"(?:SPOT|LINEAR|INVERSE):")
_SEPARATORS = re.compile(r"[-/_: ]+")


def symbol_problem(market: str, symbol: re.Pattern[str]) -> str:
    """Say why `market` is not a Binance symbol of the form `symbol`, with the likely one
    ("" when it is one)."""
    if symbol.fullmatch(market):
        return ""
    problem = f"{market!r} is not a Binance symbol (such as BTCUSDT)"
    if USDM_SYMBOL.fullmatch(market):
        return f"{problem}; quarterly contracts are on venue binanceusdm"
    text = _CATEGORY.sub("", market.strip().upper(), count=1)
    text = text.removesuffix("-SWAP").removesuffix("-PERP")
    guess = _SEPARATORS.sub("", text)
    if guess != market and symbol.fullmatch(guess):
        return f"{problem}; did you mean {guess!r}?"
    return problem
