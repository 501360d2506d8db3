"""`klaxon reload`: load and check the rule files, then publish their version in Redis.

The version (RuleSet.version, a hash of the files' bytes) goes out with the price series its
rules stream (watcher/published.py). Workers reload their own files when they see it, the
watcher resubscribes to the series. Files that do not load publish nothing: the version in
force stays, and every error is printed as file:line: message.

The watcher publishes through publish_in_child() (on SIGHUP, and at a first start when nothing
is published yet): the rules load in a child process, so the watcher never holds them and its
feeds never wait on the load.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import redis

from klaxon.settings import WorkerSettings, load
from rules.feed import FeedRule
from rules.lag import LagRule
from rules.load import RuleSet
from watcher.errors import ConfigError
from watcher.published import Published, publish, published_version
from workers.context import load_usable, short

CHILD_TIMEOUT = 900.0  # seconds a child may take to load and publish (1M rules: ~5 s)


def publish_files(
    client: redis.Redis,
    paths: Sequence[Path],
    venues: Collection[str],
    env: Mapping[str, str] | None = None,
) -> tuple[RuleSet, Published, str | None]:
    """Load and check the files (ConfigError with every error), then publish their version;
    return the rules, what was published and the version it replaced (None: none)."""
    ruleset = load_usable(paths, env, venues)
    previous = published_version(client)
    published = publish(client, ruleset.version, ruleset.markets(), thresholds(ruleset))
    return ruleset, published, previous


def thresholds(ruleset: RuleSet) -> dict[str, list[float]]:
    """Return the `seconds:` of the rules' feed and lag conditions, by condition: the watcher's
    monitor reports each condition when it has lasted them (watcher/monitor.py)."""
    feeds = list(ruleset.of(FeedRule))
    return {
        "silent": [rule.seconds for rule in feeds if rule.state == "silent"],
        "down": [rule.seconds for rule in feeds if rule.state == "down"],
        "lag": [rule.seconds for rule in ruleset.of(LagRule)],
    }


def reload(paths: list[Path] | None) -> int:
    """Publish the rule files' version (KLAXON_RULES, or `paths`); print what changed."""
    settings = load(WorkerSettings, rules=paths)
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        ruleset, published, previous = publish_files(client, settings.rules, settings.venues())
    finally:
        client.close()
    what = f"{ruleset.count()} rules, {len(published.series)} price series"
    if previous == published.version:
        print(f"rules version {short(published.version)} was already published ({what})")
    else:
        print(
            f"published rules version {short(published.version)} ({what}); "
            f"it replaces {short(previous)}"
        )
    return 0


def publish_in_child(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> list[str]:
    """Run `klaxon reload PATHS` in a child process (with this process's environment, or
    `env`); return what it printed; ConfigError with its error lines when it refused the
    files."""
    command = [sys.executable, "-m", "klaxon", "reload", *(str(p) for p in paths)]
    try:
        # argv is our own klaxon command line and the configured rule paths
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(f"klaxon reload took more than {CHILD_TIMEOUT:.0f}s") from None
    if done.returncode == 1:  # refused: its stderr is klaxon's own file:line messages
        lines = done.stderr.splitlines() or ["klaxon reload refused the rule files"]
        raise ConfigError("the rule files were not published", errors=lines)
    if done.returncode != 0:
        # Anything else (a crash): its output is not ours to vouch for, and could quote a
        # channel URL this process does not know to mask; it is not passed on.
        raise ConfigError(
            f"klaxon reload failed (exit {done.returncode}); run it by hand to see why"
        )
    return done.stdout.splitlines()
