"""`klaxon run`: the whole service on embedded defaults, in one command.

A private redis-server (unless KLAXON_REDIS_URL is set), the simulator hosting the demo's venues
(klaxon/demo.py: OKX, Binance and Bybit, each on its own port), then the rules version
published (`klaxon reload`, so the watcher finds its series), the watcher with an account on
each venue, and two workers, with rules/examples/demo.yaml; its channel is a local inbox that
prints each alert and appends it to .klaxon/alerts.jsonl, reached through apprise's json://
plugin. A demo driver moves each venue's simulated BTC price across a rule's level and places a
market order, so that a price alert and a fill alert arrive from every venue within seconds; on
OKX the fill arms an emulated stop (a bracket) which the driver then triggers: its trigger, order
and fill are printed too. Ctrl-C stops every child.
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

from klaxon import demo
from klaxon.children import Children
from klaxon.inbox import Inbox
from klaxon.logs import masked_url
from klaxon.redis_server import RedisServer, free_ports
from klaxon.reload import publish_in_child
from klaxon.settings import EXAMPLES
from watcher.errors import KlaxonError

log = logging.getLogger("klaxon.run")


def run(home: Path, workers: int, rules: list[Path] | None, play: bool) -> int:
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
        sim_port = free_ports(len(demo.DEMO_VENUES))
        # The simulator accepts whatever the watcher signs with: fresh random credentials,
        # unless the environment sets them (the tests do, to look for them in the logs).
        creds = {
            "api_key": os.environ.get("KLAXON_OKX_API_KEY") or "demo-" + secrets.token_hex(8),
            "secret_key": os.environ.get("KLAXON_OKX_SECRET_KEY") or secrets.token_hex(16),
            "passphrase": os.environ.get("KLAXON_OKX_PASSPHRASE") or secrets.token_urlsafe(12),
        }
        env = _child_env(redis_url, inbox.port, sim_port, creds, rules or [EXAMPLES / "demo.yaml"])
        venues = ", ".join(
            f"{v.venue} {demo.base_url(sim_port, i)}" for i, v in enumerate(demo.DEMO_VENUES)
        )
        print(
            f"klaxon: redis {masked_url(redis_url)}, simulator {venues}, "
            f"{workers} workers; alerts print here and go to {alerts}",
            flush=True,
        )
        children.klaxon("simulator", ["sim"], env)
        # The rules version first (`klaxon reload`): the watcher subscribes to its series, and
        # rule files that do not load stop everything here, with their file:line errors.
        for line in publish_in_child(rules or [EXAMPLES / "demo.yaml"], env):
            log.info("%s", line)
        for index, venue in enumerate(demo.DEMO_VENUES):
            _wait_http(demo.base_url(sim_port, index) + venue.ready_path, stop, children)
        children.klaxon("watcher", ["watch"], env)
        for n in range(1, workers + 1):
            children.klaxon(f"worker-{n}", ["work", "--name", f"demo-{n}"], env)
        if play:
            demo.drive(sim_port, creds, stop)
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
    )
    env.update(demo.settings(sim_port, creds))
    return env


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
