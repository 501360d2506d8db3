"""`klaxon run` (what `make run` calls): alerts from every demo venue (OKX, Binance and Bybit)
within 60 s, no secret in any log, clean Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from klaxon.demo import DEMO_VENUES
from rules.load import load_rules
from tests.waiting import wait_until

SECRET, PASSPHRASE, TOKEN = "run-secret-6e1f0a9b", "run-pass-3d7c2b8e", "tok-52ac9e1d7b"
DEMO = Path(__file__).resolve().parents[2] / "rules" / "examples" / "demo.yaml"


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _alerts(message: str) -> list[str]:
    """One delivered message's alerts: itself, or each line of a digest without its rule name
    (a burst under load is coalesced: workers/digest.py)."""
    lines = message.splitlines()
    if len(lines) > 1 and all(line.startswith("• ") for line in lines):
        return [line.split(": ", 1)[1] for line in lines]
    return [message]


@pytest.mark.timeout(150)
def test_klaxon_run_alerts_hides_secrets_and_stops_cleanly(tmp_path: Path) -> None:
    # The demo's rules, with a channel URL that carries a token, as a real one would.
    rules = tmp_path / "demo.yaml"
    rules.write_text(DEMO.read_text().replace('/alerts"', f'/alerts/{TOKEN}"'))
    venues = tuple(v.venue for v in DEMO_VENUES)
    load_rules([rules], env={"KLAXON_INBOX_PORT": "1"}, venues=venues)  # still a valid rule file
    env = {k: v for k, v in os.environ.items() if not k.startswith("KLAXON_")}
    env |= {
        "KLAXON_OKX_SECRET_KEY": SECRET,
        "KLAXON_OKX_PASSPHRASE": PASSPHRASE,
        "KLAXON_LOG_LEVEL": "DEBUG",
    }
    log = tmp_path / "run.log"
    home = tmp_path / "home"
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "klaxon", "run", "--home", str(home), "--rules", str(rules)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
    alerts = home / "alerts.jsonl"
    try:

        def every_venue() -> list[str]:
            lines = alerts.read_text().splitlines() if alerts.exists() else []
            messages = [m for line in lines for m in _alerts(json.loads(line)["message"])]
            wanted: list[Callable[[str], bool]] = [
                lambda m: m.startswith("BTC-USDT crossed above 60100"),
                lambda m: m.startswith("Filled buy 0.01 BTC-USDT @ ") and " on okx/main " in m,
                lambda m: m.startswith("BTCUSDT crossed above 60100 on binance"),
                lambda m: m.startswith("Filled buy 0.01 BTCUSDT @ ") and " on binance/main " in m,
                lambda m: m.startswith("linear:BTCUSDT crossed above 60100 on bybit"),
                lambda m: (
                    m.startswith("Filled buy 0.01 linear:BTCUSDT @ ") and " on bybit/main " in m
                ),
                # The emulated stop the OKX fill armed, filled once the driver moved the price.
                lambda m: m.startswith("bracket (stop) BTC-USDT") and "filled 0.01 @" in m,
                # Its trigger and order: delivered by another job, so maybe after the fill.
                lambda m: (
                    m.startswith("bracket ") and " triggered at " in m and m.endswith(" placed")
                ),
                # The exit's own fill (the fill rule's): another job's too, maybe later still.
                lambda m: m.startswith("Filled sell 0.01 BTC-USDT"),
            ]
            return messages if all(any(w(m) for m in messages) for w in wanted) else []

        messages = wait_until(
            every_venue, 90, "price and fill alerts from each venue, and the emulated stop's"
        )
        first_alerts_s = time.monotonic() - started
        family = _descendants(proc.pid)
        assert len(family) >= 5  # redis-server, simulator, watcher, two workers
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
    wait_until(lambda: not any(_alive(p) for p in family), 10, "every child to exit")
    output = log.read_text()
    assert "klaxon: stopping" in output
    assert "crossed above 60100" in output  # the alert is printed in the terminal too
    assert "BTCUSDT crossed above 60100 on binance" in output
    assert "linear:BTCUSDT crossed above 60100 on bybit" in output
    # The emulated stop: armed on the fill, then triggered, placed and filled, each printed.
    stops = [m for m in messages if m.startswith("bracket ")]
    assert stops[0].startswith("bracket BTC-USDT armed: sell 0.01, entry ")
    assert any(" triggered at " in m and m.endswith(", sell 0.01 placed") for m in stops)
    assert "protect-btc: bracket (stop) BTC-USDT triggered at" in output
    for secret in (SECRET, PASSPHRASE, TOKEN):
        assert secret not in output
        assert secret not in alerts.read_text()
    print(f"first alerts after {first_alerts_s:.1f}s; {len(messages)} alerts")
