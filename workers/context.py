"""The rules this worker process evaluates, compiled once, and reloaded when their files change.

`klaxon work` calls install() (a RuleSet) or watch() (rule files) before starting the worker;
jobs call current(). A rule file that stops loading keeps the running rules and logs each of its
errors once (file:line), until the files change again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rules.index import PriceIndex
from rules.load import RuleSet, load_rules
from watcher.errors import ConfigError
from workers.latency import ENQUEUED, LatencyHistogram
from workers.notify import check_channels

log = logging.getLogger(__name__)

RELOAD_INTERVAL = 1.0  # seconds between two looks at the rule files' mtime/size


@dataclass(eq=False)
class Context:
    """Compiled rules plus the local caches that spare the hot path Redis round trips."""

    ruleset: RuleSet
    index: PriceIndex
    # Positions in ruleset.fill_rules of once-rules already claimed (by anyone): never re-claim.
    fills_retired: set[int] = field(default_factory=set)
    # Rule id -> time.monotonic() before which a cooldown rule is known to be still claimed.
    cooldown_until: dict[str, float] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    enqueued: LatencyHistogram = field(default_factory=lambda: LatencyHistogram(ENQUEUED))

    @classmethod
    def build(cls, ruleset: RuleSet, previous: Context | None = None) -> Context:
        """Compile a RuleSet; cooldown and latency state carries over from `previous`."""
        context = cls(ruleset=ruleset, index=PriceIndex(ruleset.price_rules))
        if previous is not None:
            # Keyed by rule id, which changes with the rule: stale entries are harmless.
            context.cooldown_until = previous.cooldown_until
            context.latency = previous.latency
            context.enqueued = previous.enqueued
        return context


def load_usable(paths: Sequence[Path], env: Mapping[str, str] | None = None) -> RuleSet:
    """Load rule files and refuse them (ConfigError) if apprise cannot use one of the channels."""
    ruleset = load_rules(paths, env)
    errors = check_channels(ruleset)
    if errors:
        raise ConfigError(errors[0], errors=errors)
    return ruleset


class RuleFiles:
    """Rule files watched by mtime and size; load() and reload_if_changed() give RuleSets."""

    def __init__(
        self,
        paths: Sequence[Path],
        env: Mapping[str, str] | None = None,
        interval: float = RELOAD_INTERVAL,
    ) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self.env = env
        self.interval = interval
        self.signature = self._signature()
        self._checked = time.monotonic()
        self._failed: tuple[object, ...] | None = None

    def _signature(self) -> tuple[object, ...]:
        parts: list[object] = []
        for path in self.paths:
            try:
                stat = path.stat()
            except OSError:
                parts.append((str(path), None))
            else:
                parts.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(parts)

    def load(self) -> RuleSet:
        """Load the files now (ConfigError with every file:line error when they are bad)."""
        self.signature = self._signature()
        return load_usable(self.paths, self.env)

    def reload_if_changed(self) -> RuleSet | None:
        """Return the new RuleSet if the files changed and load; None otherwise (at most 1/s)."""
        now = time.monotonic()
        if now - self._checked < self.interval:
            return None
        self._checked = now
        signature = self._signature()
        if signature == self.signature:
            return None
        try:
            ruleset = load_usable(self.paths, self.env)
        except ConfigError as e:
            if signature != self._failed:
                self._failed = signature
                log.error("rule files changed but do not load; keeping the running rules")
                for line in e.errors:
                    log.error("%s", line)
            return None
        self.signature = signature
        self._failed = None
        log.info("rules reloaded: version %s", ruleset.version)
        return ruleset


_lock = threading.Lock()
_current: Context | None = None
_files: RuleFiles | None = None


def install(ruleset: RuleSet) -> Context:
    """Make `ruleset` the rules of this process (no file watching)."""
    global _current, _files
    with _lock:
        _current = Context.build(ruleset, _current)
        _files = None
        return _current


def watch(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    interval: float = RELOAD_INTERVAL,
    loaded: RuleSet | None = None,
) -> Context:
    """Load rule files now (ConfigError if bad), or take `loaded` as their current content;
    reload them when they change (checked at most once per `interval` seconds)."""
    global _current, _files
    files = RuleFiles(paths, env, interval)
    ruleset = files.load() if loaded is None else loaded
    with _lock:
        _current = Context.build(ruleset, _current)
        _files = files
        return _current


def current() -> Context:
    """Return the rules in force, reloading them first if their files changed."""
    global _current
    with _lock:
        if _files is not None and _current is not None:
            ruleset = _files.reload_if_changed()
            if ruleset is not None:
                _current = Context.build(ruleset, _current)
        if _current is None:
            raise ConfigError("no rules installed in this worker (call workers.context.install)")
        return _current


def uninstall() -> None:
    """Forget the installed rules (tests, and a worker shutting down)."""
    global _current, _files
    with _lock:
        _current = None
        _files = None
