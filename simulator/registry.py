"""The venues the simulator can serve: name -> protocol class (simulator.protocol.VenueProtocol).

Adding a venue is its package simulator/<name>/ and one line here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from simulator.okx import Okx
from simulator.protocol import VenueProtocol

PROTOCOLS: Mapping[str, type[VenueProtocol]] = MappingProxyType(
    {
        "okx": Okx,
    }
)


def protocol_class(name: str) -> type[VenueProtocol]:
    """Returns the protocol of a venue, or raises ValueError naming the known ones."""
    cls = PROTOCOLS.get(name)
    if cls is None:
        raise ValueError(
            f"the simulator has no venue {name!r}; known: {', '.join(sorted(PROTOCOLS))}"
        )
    return cls
