"""The chaos soak's emulated stops: armed in rounds while processes die, each placing one order.

Round by round over the run, a few more stop rules are written into the soak's rules file and
published with `klaxon reload` (retried while Redis is down), as an operator would. Each is a
buy stop on one of the feed's markets with its trigger at the bottom of the market's price path:
it fires on the first tick its workers evaluate with it loaded, wherever the kills are. At the
end the simulator's order history, matched to the rules by the tag in each client order id,
says how many stops placed an order and how many orders any of them placed more than once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.loadgen import Load, market_name, price_paths
from watcher import keys

SIZE = "0.001"


def stop_name(n: int) -> str:
    """The n-th stop rule's name."""
    return f"stop{n:05d}"


def stop_rules(load: Load, count: int) -> list[str]:
    """Rule lines of the first `count` stops, over the load's markets in turn."""
    paths = price_paths(load)
    lines = []
    for n in range(count):
        m = n % load.markets
        trigger = min(paths[m])  # a buy stop fires at or above: on the market's next tick
        lines.append(
            f"  - {{name: {stop_name(n)}, notify: [chaos], stop: {{market: {market_name(m)},"
            f" account: main, side: buy, size: '{SIZE}', trigger: '{trigger}'}}}}"
        )
    return lines


class Armer:
    """Arms `stops` stops in `rounds` rounds over `seconds`, rewriting `rules` (its first part
    `head`, the soak's own rules) and publishing each version."""

    def __init__(
        self, load: Load, rules: Path, head: str, env: dict[str, str], stops: int, rounds: int
    ) -> None:
        self.load, self.rules, self.head, self.env = load, rules, head, env
        self.stops, self.rounds = stops, max(1, min(rounds, stops or 1))
        self.armed = 0
        self.reload_failures = 0
        self._stop = threading.Event()

    def run(self, seconds: float) -> None:
        """Arm round after round, evenly over `seconds` (the first round at once)."""
        for k in range(self.rounds):
            if k and self._stop.wait(seconds / self.rounds):
                return
            self.arm(self.stops * (k + 1) // self.rounds)

    def stop(self) -> None:
        """Arm no more rounds."""
        self._stop.set()

    def arm(self, count: int) -> None:
        """Write the first `count` stops and publish them (until `klaxon reload` succeeds)."""
        if self.stops == 0:
            return
        text = self.head + "\n".join(stop_rules(self.load, count)) + "\n"
        temporary = self.rules.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.rules)  # a process starting now reads one whole version
        while not self._stop.is_set():
            done = subprocess.run(
                [sys.executable, "-m", "klaxon", "reload"], env=self.env, capture_output=True,
                cwd=Path(__file__).resolve().parent.parent, timeout=300, check=False,
            )  # fmt: skip
            if done.returncode == 0:
                self.armed = count
                return
            self.reload_failures += 1  # Redis down (killed): again in a moment
            time.sleep(0.5)


def orders_by_stop(history: list[dict[str, Any]], stops: int) -> Counter[str]:
    """How many orders on the simulator each stop placed (by the rule tag of the client id)."""
    tags = {keys.rule_tag(stop_name(n)): stop_name(n) for n in range(stops)}
    placed: Counter[str] = Counter()
    for order in history:
        cid = str(order.get("clOrdId", ""))
        if cid.startswith(keys.CLIENT_ID_PREFIX) and cid[2:10] in tags:
            placed[tags[cid[2:10]]] += 1
    return placed
