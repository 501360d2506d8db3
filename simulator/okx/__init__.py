"""OKX v5 on the simulator: WS public/private, login and REST signature checks, REST endpoints."""
