"""FTX (historical) trading: none. The exchange and its REST API closed in November 2022.

klaxon only watches FTX (on simulator/ftx). The audit of an account's key asks
key_permissions(): FTX had no endpoint saying what a key may do, and klaxon places no order
there, so the key counts as read-only and the workers refuse every order action for it.
Every other call raises ConfigError(CLOSED).
"""

from __future__ import annotations

from datetime import datetime

from watcher.errors import ConfigError
from watcher.events import Fill, OrderUpdate
from watcher.venues import Permission

CLOSED = "ftx: the exchange closed in 2022; REST trading is not supported"


class FtxTrading:
    """The Trading of an FTX account: read-only, and every REST call refused."""

    def place_order(
        self,
        market: str,
        side: str,
        ord_type: str,
        size: str,
        price: str | None = None,
        client_order_id: str | None = None,
        *,
        reduce_only: bool = False,
    ) -> str:
        """Refuse: there is no FTX to place an order on."""
        raise ConfigError(CLOSED)

    def cancel_order(
        self, market: str, order_id: str | None = None, client_order_id: str | None = None
    ) -> None:
        """Refuse: there is no FTX to cancel an order on."""
        raise ConfigError(CLOSED)

    def order_by_client_id(self, market: str, client_order_id: str) -> OrderUpdate | None:
        """Refuse: there is no FTX REST to look an order up with."""
        raise ConfigError(CLOSED)

    def fills_since(self, since: datetime, market: str | None = None) -> list[Fill]:
        """Refuse: there is no FTX REST to read fills from."""
        raise ConfigError(CLOSED)

    def key_permissions(self) -> frozenset[Permission]:
        """Return {"read"}: klaxon only reads FTX, so the workers never trade with the key."""
        return frozenset({"read"})
