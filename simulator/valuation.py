"""The account valued at the marks: its unrealized profit and loss, the margin its positions use.

Every order's margin check and every balance needs both, summed over all positions: with
hundreds of positions that was most of an order's time in the engine, and the simulator takes
one order at a time. So each position's two terms are kept until its market's price or the
position itself changes, and so are the sums until any term changes (the Exchange, which makes
every such change, calls forget()). A sum runs over the kept terms in the positions' order,
skipping flat ones: the same Decimal operations in the same order as a fresh computation, so
the same results to the last digit.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from simulator.account import Account
from simulator.market import Market


class Valuation:
    """The kept terms and sums of one account over one set of markets."""

    def __init__(self, account: Account, markets: Mapping[str, Market]) -> None:
        self._account = account
        self._markets = markets
        self._terms: dict[str, tuple[Decimal, Decimal]] = {}  # market -> (upl, margin used)
        self._sums: tuple[Decimal, Decimal] | None = None

    def forget(self, market: str) -> None:
        """The price of `market`, or the position held in it, changed."""
        if self._terms.pop(market, None) is not None or market in self._account.positions:
            self._sums = None

    def upl(self) -> Decimal:
        """Returns the unrealized profit and loss of all positions."""
        return self._summed()[0]

    def used(self) -> Decimal:
        """Returns the margin all positions use (their size at the mark over their leverage)."""
        return self._summed()[1]

    def _summed(self) -> tuple[Decimal, Decimal]:
        if self._sums is not None:
            return self._sums
        upl = used = Decimal(0)
        terms = self._terms
        for p in self._account.positions.values():
            if not p.pos:
                continue
            term = terms.get(p.market)
            if term is None:
                mark = self._markets[p.market].last
                term = terms[p.market] = (p.upl(mark), abs(p.pos) * mark / p.leverage)
            upl += term[0]
            used += term[1]
        self._sums = (upl, used)
        return self._sums
