"""`python -m simulator`: serve a simulator until interrupted."""

from __future__ import annotations

import argparse

from simulator.config import SimConfig
from simulator.server import serve_forever


def main() -> None:
    """Parses the few flags worth having on a command line and serves."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-walk", action="store_true", help="move prices only via /sim/*")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    serve_forever(SimConfig(host=args.host, port=args.port, walk=not args.no_walk, seed=args.seed))


if __name__ == "__main__":
    main()
