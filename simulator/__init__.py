"""klaxon's exchange simulator: a local exchange speaking OKX v5 (WS + REST) on loopback."""

from simulator.config import SimConfig
from simulator.server import Simulator, serve_forever

__all__ = ["SimConfig", "Simulator", "serve_forever"]
