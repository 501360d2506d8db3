"""The rules this worker process evaluates, compiled once, and reloaded when their files change.

`klaxon work` calls install() (a RuleSet) or watch() (rule files) before starting the worker;
jobs call current(). A rule file that stops loading keeps the running rules and logs each of its
errors once (file:line), until the files change again. The files watched are the rule files and
the tables they name, as stamped (mtime, size) when the last load read them.

Each kind's rules stay in the RuleSet's book (price rules: compact columns, ~100 bytes a rule
with the index); the Context holds each book's live matcher (rules.kinds.Dispatch), built once
per loaded RuleSet, and what once- and cooldown-rules' claims taught it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rules.base import Cooldown, Every
from rules.kinds import Dispatch
from rules.load import RuleLoadError, RuleSet, load_rules
from rules.ruleset import FileStamp
from watcher.errors import ConfigError
from workers.latency import ENQUEUED, LatencyHistogram
from workers.notify import check_channels
from workers.state import NEW, ClaimResult

if TYPE_CHECKING:
    from workers.firings import Firing

log = logging.getLogger(__name__)

RELOAD_INTERVAL = 1.0  # seconds between two looks at the rule files' mtime/size


@dataclass(eq=False)
class Context:
    """Compiled rules plus the local caches that spare the hot path Redis round trips."""

    ruleset: RuleSet
    # Every kind's live matcher, by the event kinds they read; once-rules retire through it.
    dispatch: Dispatch
    # Rule id -> time.monotonic() before which a cooldown rule is known to be still claimed.
    cooldown_until: dict[str, float] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    enqueued: LatencyHistogram = field(default_factory=lambda: LatencyHistogram(ENQUEUED))
    # Whether this worker also delivers notifications: then evaluation yields to them.
    delivers: bool = True

    @classmethod
    def build(cls, ruleset: RuleSet, previous: Context | None = None) -> Context:
        """Build every book's matcher; cooldown and latency state carries over from `previous`."""
        context = cls(ruleset=ruleset, dispatch=Dispatch(ruleset.books))
        if previous is not None:
            # Keyed by rule id, which changes with the rule: stale entries are harmless.
            context.cooldown_until = previous.cooldown_until
            context.latency = previous.latency
            context.enqueued = previous.enqueued
            context.delivers = previous.delivers
        return context

    def remember(self, firings: Sequence[Firing], results: Sequence[ClaimResult]) -> None:
        """Learn from a batch's answered claims (its effects stored) which work to skip next."""
        for f, r in zip(firings, results, strict=True):
            repeat = f.rule.repeat
            if isinstance(repeat, Cooldown):
                remaining = repeat.seconds if r.status == NEW else r.remaining_ms / 1000
                if remaining > 0:
                    self.cooldown_until[f.rule.id] = time.monotonic() + remaining
            elif not isinstance(repeat, Every):
                # Once: whatever the answer, the claim is held for good; never ask again.
                self.dispatch.retire(*f.slot)


def load_usable(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    venues: Collection[str] | None = None,
) -> RuleSet:
    """Load rule files (on the configured `venues`, see load_rules) and refuse them
    (RuleLoadError, a ConfigError) if apprise cannot use one of the channels (checked once per
    channel, however many rules use it)."""
    ruleset = load_rules(paths, env, venues)
    errors = check_channels(ruleset)
    if errors:
        raise RuleLoadError(errors[0], errors, ruleset.files)
    return ruleset


class RuleFiles:
    """Rule files and their tables watched by mtime and size; load() and reload_if_changed()
    give RuleSets."""

    def __init__(
        self,
        paths: Sequence[Path],
        env: Mapping[str, str] | None = None,
        interval: float = RELOAD_INTERVAL,
        venues: Collection[str] | None = None,
    ) -> None:
        self.paths = tuple(Path(p) for p in paths)
        self.env = env
        self.interval = interval
        self.venues = venues
        # Every file the last load read (rule files, then tables), stamped before reading it.
        self.signature = tuple(FileStamp.of(str(p)) for p in self.paths)
        self._checked = time.monotonic()

    def changed(self) -> bool:
        """Return whether a file of the last load differs from its stamp (now, not throttled)."""
        return any(FileStamp.of(stamp.path) != stamp for stamp in self.signature)

    def adopt(self, ruleset: RuleSet) -> None:
        """Take `ruleset` as what the files hold (when it says it was read from all of them)."""
        if {str(p) for p in self.paths} <= {stamp.path for stamp in ruleset.files}:
            self.signature = ruleset.files

    def load(self) -> RuleSet:
        """Load the files now (ConfigError with every file:line error when they are bad)."""
        try:
            ruleset = load_usable(self.paths, self.env, self.venues)
        except RuleLoadError as e:
            self.signature = e.files
            raise
        self.signature = ruleset.files
        return ruleset

    def reload_if_changed(self) -> RuleSet | None:
        """Return the new RuleSet if the files changed and load; None otherwise (at most 1/s).

        Files that fail to load are not loaded again until they change again.
        """
        now = time.monotonic()
        if now - self._checked < self.interval:
            return None
        self._checked = now
        if not self.changed():
            return None
        try:
            ruleset = self.load()
        except ConfigError as e:
            log.error("rule files changed but do not load; keeping the running rules")
            for line in e.errors:
                log.error("%s", line)
            return None
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
    venues: Collection[str] | None = None,
) -> Context:
    """Load rule files now (ConfigError if bad), or take `loaded` as their current content;
    reload them when they change (checked at most once per `interval` seconds), on the
    configured `venues` (see load_rules)."""
    global _current, _files
    files = RuleFiles(paths, env, interval, venues)
    if loaded is None:
        ruleset = files.load()
    else:
        ruleset = loaded
        files.adopt(loaded)
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
