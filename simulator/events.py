"""What the engine reports after each change: neutral records that each venue package renders.

- `Ticker`: a market's price moved (tickers, mark price);
- `OrderView`: an order was placed, filled (its `fill` set) or canceled;
- `PositionView`: a position changed by a fill;
- `Balance`: the account's cash changed by a fill.
"""

from __future__ import annotations

from simulator.account import Balance, PositionView
from simulator.market import Ticker
from simulator.orders import OrderView

Event = Ticker | OrderView | PositionView | Balance

__all__ = ["Balance", "Event", "OrderView", "PositionView", "Ticker"]
