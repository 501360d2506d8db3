"""What `klaxon run` demonstrates on the simulator: its venues (one simulator process hosts them
all, the first on KLAXON_SIM_PORT, the next on port+1, ...), each venue's account settings
pointing the watcher at it, and the driver that moves each venue's BTC price across the demo
rules' level and then buys at market, so that each venue's price alert and fill alert arrive.

A venue joins the demo with one DemoVenue entry below (and its rules in rules/examples/demo.yaml).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from watcher.venues import Trading
from watcher.venues.binance import Binance, BinanceCredentials
from watcher.venues.bybit import Bybit, BybitCredentials
from watcher.venues.okx import Okx, OkxCredentials

log = logging.getLogger("klaxon.demo")

# Through the demo rules' level (crosses_up 60100) from the simulator's 60000 start.
DEMO_PATH = ["60020", "60060", "60090", "60140", "60180"]
# After the buy at about 60180: down through the stop that the demo's bracket arms on the fill
# (0.1% below the entry) on a venue whose DemoVenue is `protected`.
STOP_PATH = ["60150", "60110", "60080"]
PATH_INTERVAL = 0.5  # s between the path's prices
ORDER_SIZE = "0.01"
SUBSCRIBE_TIMEOUT = 30.0  # s the driver waits for the watcher to listen

# api_key, secret_key, passphrase: what the simulator accepts and the accounts sign with.
Credentials = Mapping[str, str]


@dataclass(frozen=True)
class DemoVenue:
    """One simulated venue of the demo: the market the driver moves and buys, the subscription
    that shows the watcher listens to it, a public REST path that answers once the venue
    listens, its account's settings (KLAXON_<VENUE>_*) for the simulator at host:port, and the
    account's REST client at a base URL."""

    venue: str
    market: str
    subscription: str  # as /sim/state shows it among the public clients' (any case)
    ready_path: str
    settings: Callable[[str, Credentials], dict[str, str]]
    trading: Callable[[str, Credentials], Trading]
    protected: bool = False  # a bracket rule protects the buy: the driver then triggers its stop


def _okx_settings(where: str, creds: Credentials) -> dict[str, str]:
    return {
        "KLAXON_OKX_API_KEY": creds["api_key"],
        "KLAXON_OKX_SECRET_KEY": creds["secret_key"],
        "KLAXON_OKX_PASSPHRASE": creds["passphrase"],
        "KLAXON_OKX_WS_PUBLIC_URL": f"ws://{where}/ws/v5/public",
        "KLAXON_OKX_WS_PRIVATE_URL": f"ws://{where}/ws/v5/private",
        "KLAXON_OKX_REST_URL": f"http://{where}",
        "KLAXON_OKX_DEMO": "true",
    }


def _okx_trading(base_url: str, creds: Credentials) -> Trading:
    return Okx("main", OkxCredentials.model_validate(creds), demo=True, rest_url=base_url).trading()


def _binance_settings(where: str, creds: Credentials) -> dict[str, str]:
    return {
        "KLAXON_BINANCE_API_KEY": creds["api_key"],
        "KLAXON_BINANCE_SECRET_KEY": creds["secret_key"],
        "KLAXON_BINANCE_STREAM_URL": f"ws://{where}",
        "KLAXON_BINANCE_REST_URL": f"http://{where}",
    }


def _binance_trading(base_url: str, creds: Credentials) -> Trading:
    key = BinanceCredentials(
        api_key=SecretStr(creds["api_key"]), secret_key=SecretStr(creds["secret_key"])
    )
    return Binance("main", key, rest_url=base_url).trading()


def _bybit_settings(where: str, creds: Credentials) -> dict[str, str]:
    return {
        "KLAXON_BYBIT_API_KEY": creds["api_key"],
        "KLAXON_BYBIT_SECRET_KEY": creds["secret_key"],
        "KLAXON_BYBIT_WS_PUBLIC_URL": f"ws://{where}/v5/public",  # /<category> is appended
        "KLAXON_BYBIT_WS_PRIVATE_URL": f"ws://{where}/v5/private",
        "KLAXON_BYBIT_REST_URL": f"http://{where}",
    }


def _bybit_trading(base_url: str, creds: Credentials) -> Trading:
    key = BybitCredentials(
        api_key=SecretStr(creds["api_key"]), secret_key=SecretStr(creds["secret_key"])
    )
    return Bybit("main", key, rest_url=base_url).trading()


DEMO_VENUES: tuple[DemoVenue, ...] = (
    DemoVenue(
        "okx",
        "BTC-USDT",
        "BTC-USDT",
        "/api/v5/public/time",
        _okx_settings,
        _okx_trading,
        protected=True,
    ),
    DemoVenue(
        "binance", "BTCUSDT", "btcusdt@", "/api/v3/ping", _binance_settings, _binance_trading
    ),
    DemoVenue(
        "bybit",
        "linear:BTCUSDT",
        "tickers.BTCUSDT",
        "/v5/market/time",
        _bybit_settings,
        _bybit_trading,
    ),
)


def accounts() -> list[dict[str, str]]:
    """Returns KLAXON_ACCOUNTS of the demo: account "main" on each venue."""
    return [{"venue": v.venue, "account": "main"} for v in DEMO_VENUES]


def base_url(first_port: int, index: int) -> str:
    """Returns the REST root of the demo's venue number `index`."""
    return f"http://127.0.0.1:{first_port + index}"


def settings(first_port: int, creds: Credentials) -> dict[str, str]:
    """Returns the simulator's settings (KLAXON_SIM_*) and every demo account's."""
    env = {
        "KLAXON_SIM_VENUES": json.dumps([v.venue for v in DEMO_VENUES]),
        "KLAXON_SIM_PORT": str(first_port),
        "KLAXON_SIM_API_KEY": creds["api_key"],
        "KLAXON_SIM_SECRET_KEY": creds["secret_key"],
        "KLAXON_SIM_PASSPHRASE": creds["passphrase"],
        "KLAXON_ACCOUNTS": json.dumps(accounts()),
    }
    for index, venue in enumerate(DEMO_VENUES):
        env.update(venue.settings(f"127.0.0.1:{first_port + index}", creds))
    return env


def _state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/sim/state", timeout=2) as resp:  # noqa: S310 - loopback
        state: dict[str, Any] = json.load(resp)
        return state


def _post(url: str, path: str, body: dict[str, object]) -> None:
    req = urllib.request.Request(  # noqa: S310 - loopback
        f"{url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=2):  # noqa: S310 - loopback
        pass


def _listening(url: str, subscription: str) -> bool:
    """Whether a public client of the venue holds the subscription and its private feed is
    logged in and subscribed."""
    try:
        clients = _state(url).get("clients", {})
    except OSError:
        return False
    public = json.dumps([c for f, cs in clients.items() if f != "private" for c in cs]).lower()
    private = clients.get("private", [])
    logged_in = any(c["loggedIn"] and c["subscriptions"] for c in private)
    return subscription.lower() in public and logged_in


def _drive(venue: DemoVenue, url: str, creds: Credentials, stop: threading.Event) -> None:
    deadline = time.monotonic() + SUBSCRIBE_TIMEOUT
    while not stop.is_set() and not _listening(url, venue.subscription):
        if time.monotonic() > deadline:
            log.warning("demo: the watcher has not subscribed on %s after 30 s", venue.venue)
            return
        stop.wait(0.2)
    if stop.is_set():
        return
    print(f"klaxon demo: moving {venue.market} across 60100 on the simulated {venue.venue}",
          flush=True)  # fmt: skip
    path = {"market": venue.market, "prices": DEMO_PATH, "interval": PATH_INTERVAL}
    _post(url, "/sim/path", path)
    if stop.wait(2 + PATH_INTERVAL * len(DEMO_PATH)):
        return
    print(
        f"klaxon demo: buying {ORDER_SIZE} {venue.market} at market over the simulated "
        f"{venue.venue}'s REST API",
        flush=True,
    )
    venue.trading(url, creds).place_order(venue.market, "buy", "market", ORDER_SIZE)
    if not venue.protected or stop.wait(3):  # the fill arms the bracket's exits
        return
    print(f"klaxon demo: moving {venue.market} down through the protecting stop", flush=True)
    _post(
        url, "/sim/path", {"market": venue.market, "prices": STOP_PATH, "interval": PATH_INTERVAL}
    )


def drive(first_port: int, creds: Credentials, stop: threading.Event) -> None:
    """Drives every demo venue at once, each from its own daemon thread."""
    for index, venue in enumerate(DEMO_VENUES):
        threading.Thread(
            target=_drive,
            args=(venue, base_url(first_port, index), creds, stop),
            name=f"demo-{venue.venue}",
            daemon=True,
        ).start()
