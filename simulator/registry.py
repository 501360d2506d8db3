"""The venues the simulator can serve: name -> protocol class (simulator.protocol.VenueProtocol).

Adding a venue is its package simulator/<name>/ and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from simulator.binance import Binance, BinanceUsdm
from simulator.bybit import Bybit
from simulator.ftx import Ftx
from simulator.okx import Okx
from simulator.protocol import VenueProtocol

PROTOCOLS: Mapping[str, type[VenueProtocol]] = MappingProxyType(
    {
        "okx": Okx,
        "binance": Binance,
        "binanceusdm": BinanceUsdm,
        "bybit": Bybit,
        "ftx": Ftx,  # historical (closed 2022)
    }
)


def protocol_class(
    name: str, protocols: Mapping[str, type[VenueProtocol]] = PROTOCOLS
) -> type[VenueProtocol]:
    """Returns the protocol of a venue, or raises ValueError naming the known ones."""
    cls = protocols.get(name)
    if cls is None:
        known = ", ".join(sorted(protocols))
        raise ValueError(f"the simulator has no venue {name!r}; known: {known}")
    return cls
