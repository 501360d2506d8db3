"""`klaxon run`: the whole service on embedded defaults, in one command.

A private redis-server (unless KLAXON_REDIS_URL is set), the OKX simulator, then the rules
version published (`klaxon reload`, so the watcher finds its series), the watcher and two
workers, with rules/examples/demo.yaml; its channel is a local inbox that prints each alert and
appends it to .klaxon/alerts.jsonl, reached through apprise's json:// plugin. A demo driver moves
the simulated BTC price across a rule's level and places a market order so that a price alert and
a fill alert arrive within seconds. Ctrl-C stops every child.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import FrameType

from klaxon.children import Children
from klaxon.inbox import Inbox
from klaxon.logs import masked_url
from klaxon.redis_server import RedisServer, free_port
from klaxon.reload import publish_in_child
from klaxon.settings import EXAMPLES
from watcher.errors import KlaxonError
from watcher.venues.okx import Okx, OkxCredentials

log = logging.getLogger("klaxon.run")

# The demo's one account: OKX, on the simulator.
DEMO_ACCOUNTS = [{"venue": "okx", "account": "main"}]
DEMO_MARKET = "BTC-USDT"
# Through the demo rule's level (crosses_up 60100) from the simulator's 60000 start.
DEMO_PATH = ["60020", "60060", "60090", "60140", "60180"]


def run(home: Path, workers: int, rules: list[Path] | None, demo: bool) -> int:
    """Run everything until Ctrl-C; return the process exit code."""
    home.mkdir(parents=True, exist_ok=True)
    alerts = home / "alerts.jsonl"
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    children = Children()
    server: RedisServer | None = None
    inbox = Inbox(jsonl=alerts, echo=sys.stdout).start()
    try:
        redis_url = os.environ.get("KLAXON_REDIS_URL")
        if not redis_url:
            server = RedisServer(home / "redis").start()
            redis_url = server.url
        sim_port = free_port()
        # The simulator accepts whatever the watcher signs with: fresh random credentials,
        # unless the environment sets them (the tests do, to look for them in the logs).
        creds = {
            "api_key": os.environ.get("KLAXON_OKX_API_KEY") or "demo-" + secrets.token_hex(8),
            "secret_key": os.environ.get("KLAXON_OKX_SECRET_KEY") or secrets.token_hex(16),
            "passphrase": os.environ.get("KLAXON_OKX_PASSPHRASE") or secrets.token_urlsafe(12),
        }
        env = _child_env(redis_url, inbox.port, sim_port, creds, rules or [EXAMPLES / "demo.yaml"])
        print(
            f"klaxon: redis {masked_url(redis_url)}, simulator http://127.0.0.1:{sim_port}, "
            f"{workers} workers; alerts print here and go to {alerts}",
            flush=True,
        )
        children.klaxon("simulator", ["sim"], env)
        # The rules version first (`klaxon reload`): the watcher subscribes to its series, and
        # rule files that do not load stop everything here, with their file:line errors.
        for line in publish_in_child(rules or [EXAMPLES / "demo.yaml"], env):
            log.info("%s", line)
        _wait_http(f"http://127.0.0.1:{sim_port}/api/v5/public/time", stop, children)
        children.klaxon("watcher", ["watch"], env)
        for n in range(1, workers + 1):
            children.klaxon(f"worker-{n}", ["work", "--name", f"demo-{n}"], env)
        if demo:
            threading.Thread(
                target=_drive_demo, args=(sim_port, creds, stop), name="demo", daemon=True
            ).start()
        print("klaxon: running; Ctrl-C stops everything", flush=True)
        while not stop.wait(0.5):
            dead = children.dead()
            if dead:
                print(f"klaxon: stopping, a child exited: {', '.join(dead)}", file=sys.stderr)
                return 1
        return 0
    finally:
        print("klaxon: stopping", flush=True)
        children.stop()
        if server is not None:
            server.stop()
        inbox.stop()


def _child_env(
    redis_url: str, inbox_port: int, sim_port: int, creds: dict[str, str], rules: list[Path]
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KLAXON_REDIS_URL=redis_url,
        KLAXON_INBOX_PORT=str(inbox_port),
        KLAXON_RULES=json.dumps([str(p) for p in rules]),
        KLAXON_LOG_LEVEL=env.get("KLAXON_LOG_LEVEL", "WARNING"),
        KLAXON_ACCOUNTS=json.dumps(DEMO_ACCOUNTS),
    )
    env.update(_simulated_okx(sim_port, creds))
    return env


def _simulated_okx(sim_port: int, creds: dict[str, str]) -> dict[str, str]:
    """The simulator's settings, and the OKX account's (KLAXON_OKX_*) pointing at it."""
    base = f"127.0.0.1:{sim_port}"
    return dict(
        KLAXON_SIM_PORT=str(sim_port),
        KLAXON_SIM_API_KEY=creds["api_key"],
        KLAXON_SIM_SECRET_KEY=creds["secret_key"],
        KLAXON_SIM_PASSPHRASE=creds["passphrase"],
        KLAXON_OKX_API_KEY=creds["api_key"],
        KLAXON_OKX_SECRET_KEY=creds["secret_key"],
        KLAXON_OKX_PASSPHRASE=creds["passphrase"],
        KLAXON_OKX_WS_PUBLIC_URL=f"ws://{base}/ws/v5/public",
        KLAXON_OKX_WS_PRIVATE_URL=f"ws://{base}/ws/v5/private",
        KLAXON_OKX_REST_URL=f"http://{base}",
        KLAXON_OKX_DEMO="true",
    )


def _wait_http(url: str, stop: threading.Event, children: Children, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our loopback simulator
                return
        except OSError:
            dead = children.dead()
            if dead:
                raise KlaxonError(f"a child exited during start-up: {', '.join(dead)}") from None
            if time.monotonic() > deadline:
                raise KlaxonError(f"no answer from {url} in {timeout:.0f}s") from None
            stop.wait(0.1)


def _sim_state(sim_port: int) -> dict[str, object]:
    url = f"http://127.0.0.1:{sim_port}/sim/state"
    with urllib.request.urlopen(url, timeout=2) as resp:
        state: dict[str, object] = json.load(resp)
        return state


def _post(sim_port: int, path: str, body: dict[str, object]) -> None:
    req = urllib.request.Request(
        f"http://127.0.0.1:{sim_port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=2):  # noqa: S310 - loopback
        pass


def _drive_demo(sim_port: int, creds: dict[str, str], stop: threading.Event) -> None:
    """Move BTC across the demo level once the watcher listens, then buy at market."""
    deadline = time.monotonic() + 30
    while not stop.is_set() and not _subscribed(sim_port):
        if time.monotonic() > deadline:
            log.warning("demo: the watcher has not subscribed after 30 s")
            return
        stop.wait(0.2)
    if stop.is_set():
        return
    print("klaxon demo: moving BTC-USDT across 60100 on the simulator", flush=True)
    _post(sim_port, "/sim/path", {"instId": DEMO_MARKET, "prices": DEMO_PATH, "interval": 0.5})
    if stop.wait(2 + 0.5 * len(DEMO_PATH)):
        return
    print("klaxon demo: buying 0.01 BTC-USDT at market over the simulator's REST API", flush=True)
    venue = Okx(
        "main",
        OkxCredentials.model_validate(creds),
        demo=True,
        rest_url=f"http://127.0.0.1:{sim_port}",
    )
    venue.trading().place_order(DEMO_MARKET, "buy", "market", "0.01")


def _subscribed(sim_port: int) -> bool:
    try:
        state = _sim_state(sim_port)
    except OSError:
        return False
    return DEMO_MARKET in json.dumps(state.get("clients", state))
