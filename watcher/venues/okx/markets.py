"""How OKX spells a market (its instId), and the spelling a user most likely meant.

https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments
SPOT and MARGIN `BTC-USDT`; SWAP `BTC-USDT-SWAP`, `BTC-USD-SWAP`; FUTURES `BTC-USD-240628`;
OPTION `BTC-USD-240628-60000-C`. Currencies are upper case (`1INCH` has a digit).
"""

from __future__ import annotations

import re

INST_ID = re.compile(r"[A-Z0-9]+-[A-Z0-9]+(?:-SWAP|-[0-9]{6}(?:-[0-9]+(?:\.[0-9]+)?-[CP])?)?")
EXAMPLES = "such as BTC-USDT, BTC-USDT-SWAP, BTC-USD-240628"
# Quote currencies to split a run-together symbol (BTCUSDT) at, the longer ones first.
QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
_SEPARATORS = re.compile(r"[/_: ]+")
_PERPETUAL = ("-PERPETUAL", "-PERP", "PERP", "-SWAP")
_CATEGORIES = {"SPOT": False, "LINEAR": True, "INVERSE": True}  # Bybit's, as OKX: a swap?


def market_problem(market: str) -> str:
    """Say why `market` is not an OKX instId, with the likely one ("" when it is one)."""
    if INST_ID.fullmatch(market):
        return ""
    problem = f"{market!r} is not an OKX instrument id ({EXAMPLES})"
    guess, joined = _guess(market)
    if not guess:
        return problem
    if joined and not guess.endswith("-SWAP"):
        return f"{problem}; did you mean {guess!r} (or {guess + '-SWAP'!r}, the perpetual)?"
    return f"{problem}; did you mean {guess!r}?"


def position_problem(market: str) -> str:
    """Say why `market` holds no position to close ("" when it does: a swap, future or option;
    a spot instId, BASE-QUOTE, holds balances, not positions)."""
    if market.count("-") >= 2:
        return ""
    return f"{market!r} is a spot market: it holds no position (a swap is {market + '-SWAP'!r})"


def _guess(market: str) -> tuple[str, bool]:
    """Return the instId `market` most likely means ("" if none), and whether it was written
    without separators (BTCUSDT: spot or the perpetual)."""
    text = market.strip().upper()
    category, colon, rest = text.partition(":")
    swap = categorised = False
    if colon and category in _CATEGORIES:  # Bybit's spelling: linear:BTCUSDT
        text, swap, categorised = rest, _CATEGORIES[category], True
    text = _SEPARATORS.sub("-", text).strip("-")
    for suffix in _PERPETUAL:
        if text.endswith(suffix) and len(text) > len(suffix):
            text, swap = text[: -len(suffix)].rstrip("-"), True
            break
    joined = "-" not in text
    if joined:
        quote = next((q for q in QUOTES if text.endswith(q) and len(text) > len(q)), None)
        if quote is None:
            return "", False
        text = f"{text[: -len(quote)]}-{quote}"
    guess = text + ("-SWAP" if swap and text.count("-") == 1 else "")
    if guess == market or not INST_ID.fullmatch(guess):
        return "", False
    return guess, joined and not (swap or categorised)
