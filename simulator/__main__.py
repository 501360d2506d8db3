"""`python -m simulator`: serve simulated venues until interrupted."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.config import SimConfig
from simulator.registry import PROTOCOLS
from simulator.server import serve_forever


def main() -> None:
    """Parses the few flags worth having on a command line and serves."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--venue",
        dest="venues",
        action="append",
        choices=sorted(PROTOCOLS),
        help="a venue to serve (repeat for several; default okx)",
    )
    parser.add_argument(
        "--port", type=int, default=0, help="the first venue's port, the next on port+1, ..."
    )
    parser.add_argument("--no-walk", action="store_true", help="move prices only via /sim/*")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tls", action="store_true", help="also https:// and wss:// (free ports)")
    args = parser.parse_args()
    venues = list(dict.fromkeys(args.venues or ["okx"]))
    configs = [
        SimConfig(
            venue=venue,
            host=args.host,
            port=args.port + index if args.port else 0,
            walk=not args.no_walk,
            seed=args.seed,
            tls=args.tls,
        )
        for index, venue in enumerate(venues)
    ]
    serve_forever(*configs, ca_file=Path(".klaxon/sim-ca.pem"))


if __name__ == "__main__":
    main()
