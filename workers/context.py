"""The rules this worker process evaluates, compiled once, and reloaded when a new rules version
is published in Redis (watcher/published.py: by `klaxon reload`, or by SIGHUP on the watcher).

`klaxon work` calls install() (a RuleSet, followed by nothing) or follow() (rule files) before
starting the worker; jobs call current(client). At most once per `interval` seconds, current()
reads the published version (one HGET); when it is not the last one seen and not the running
one, the worker loads its own files and swaps them in only if they load to exactly that version.
Otherwise (files that do not load here, or files holding another version: changed since, or
another machine's) the running rules stay, and the log says why, once per published version.
A file's mtime is never looked at: editing a file changes nothing until a version is published.

Each kind's rules stay in the RuleSet's book (price rules: compact columns, ~100 bytes a rule
with the index); the Context holds each book's live matcher (rules.kinds.Dispatch), built once
per loaded RuleSet, and what once- and cooldown-rules' claims taught it.

What a reload keeps, for every rule whose id did not change (a rule's id hashes its whole
definition, so an edited rule is a new rule, armed afresh): its claims in Redis (once-rules
stay fired, cooldowns keep running: keys.claim(rule id)); kind state a kind keeps in Redis by
rule id; this worker's cooldown knowledge (cooldown_until, by rule id); and in-memory matcher
state of a kind whose matcher implements Adopts. Retirements of fired once-rules are not carried
(the new matchers start with every rule live): the first event that matches such a rule again
costs one claim, answered TAKEN, and retires it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import redis

from rules.base import Cooldown, Every
from rules.kinds import Book, Dispatch, Matcher
from rules.load import RuleLoadError, RuleSet, load_rules
from watcher import heap, keys
from watcher.errors import ConfigError
from watcher.published import published_version
from workers.held import StreamCache
from workers.latency import ENQUEUED, LatencyHistogram
from workers.notify import channel_problems
from workers.state import NEW, ClaimResult

if TYPE_CHECKING:
    from workers.firings import Firing

log = logging.getLogger(__name__)

FOLLOW_INTERVAL = 1.0  # seconds between two reads of the published rules version


@runtime_checkable
class Adopts(Protocol):
    """A matcher with in-memory state (a window, a timer) that a reload hands on."""

    def adopt(self, previous: Matcher, previous_book: Book[Any], book: Book[Any]) -> None:
        """Take over `previous`'s state of the rules whose id is in both books."""


@dataclass(eq=False)
class Context:
    """Compiled rules plus the local caches that spare the hot path Redis round trips."""

    ruleset: RuleSet
    # Every kind's live matcher, by the event kinds they read; once-rules retire through it.
    dispatch: Dispatch
    # Rule id -> clock() before which a cooldown rule is known to be still claimed.
    cooldown_until: dict[str, float] = field(default_factory=dict)
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    enqueued: LatencyHistogram = field(default_factory=lambda: LatencyHistogram(ENQUEUED))
    # The evaluation queues this worker serves: a job waiting in one is a stream waiting for it.
    evaluates: tuple[str, ...] = (keys.EVALUATE_QUEUE, keys.ACCOUNTS_QUEUE)
    # Whether this worker also delivers notifications: then evaluation yields to them.
    delivers: bool = True
    # Whether this worker also places queued orders (the orders queue): then evaluation yields
    # to them too. Each evaluate job holds its worker up to a budget, and round robin takes one
    # job of the other queue per job of this one: without yielding, placing waits seconds.
    places: bool = False
    # Seconds per entry, per stream, of this process's batches: workers/pace.py sizes reads by it.
    costs: dict[str, float] = field(default_factory=dict)
    # The state of the streams this worker drained last, bound to `dispatch`, for their next
    # jobs (workers/held.py); a reload's new Context starts without.
    streams: StreamCache = field(default_factory=StreamCache)
    # Seconds, for cooldowns: time.monotonic in a worker, the events' own time in a replay.
    clock: Callable[[], float] = time.monotonic

    def latency_tolerant(self) -> bool:
        """Whether every job this worker runs tolerates a moment's wait: it evaluates no ticker
        stream, where the triggers wait, and places no queued order (the `accounts,notify`
        worker), so its streams may gather a burst into one batch (workers/pace.py)."""
        return keys.EVALUATE_QUEUE not in self.evaluates and not self.places

    @classmethod
    def build(cls, ruleset: RuleSet, previous: Context | None = None) -> Context:
        """Build every book's matcher; cooldown, latency and Adopts matchers' state carry over
        from `previous`."""
        context = cls(ruleset=ruleset, dispatch=Dispatch(ruleset.books))
        if previous is not None:
            # Keyed by rule id, which changes with the rule: stale entries are harmless.
            context.cooldown_until = previous.cooldown_until
            context.latency = previous.latency
            context.enqueued = previous.enqueued
            context.evaluates = previous.evaluates
            context.delivers = previous.delivers
            context.places = previous.places
            context.clock = previous.clock
            for kind, matcher in context.dispatch.matchers.items():
                old = previous.dispatch.matchers.get(kind)
                if old is not None and isinstance(matcher, Adopts):
                    matcher.adopt(old, previous.ruleset.books[kind], ruleset.books[kind])
        return context

    def remember(self, firings: Sequence[Firing], results: Sequence[ClaimResult]) -> None:
        """Learn from a batch's answered claims (its effects stored) which work to skip next."""
        for f, r in zip(firings, results, strict=True):
            repeat = f.rule.repeat
            if isinstance(repeat, Cooldown):
                remaining = repeat.seconds if r.status == NEW else r.remaining_ms / 1000
                if remaining > 0:
                    self.cooldown_until[f.rule.id] = self.clock() + remaining
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
    problems = channel_problems(ruleset)
    if problems:
        raise RuleLoadError(problems[0].text(), problems, ruleset.files)
    return ruleset


def short(version: str | None) -> str:
    """Return a rules version as the logs show it (its first 12 hex digits)."""
    return "none" if version is None else version[:12]


@dataclass(frozen=True)
class RuleFiles:
    """The rule files a worker loads, with the environment and venues they are read with."""

    paths: tuple[Path, ...]
    env: Mapping[str, str] | None = None
    venues: Collection[str] | None = None

    def load(self) -> RuleSet:
        """Load the files now (ConfigError with every file:line error when they are bad)."""
        return load_usable(self.paths, self.env, self.venues)


class Follower:
    """Follows the published rules version: poll() gives the files' new RuleSet when a new
    version is published and the files load to exactly it."""

    def __init__(self, files: RuleFiles, interval: float = FOLLOW_INTERVAL) -> None:
        self.files = files
        self.interval = interval
        self.seen: str | None = None  # the published version last acted on
        self._looked = False
        self._checked = -float("inf")

    def poll(self, client: redis.Redis, running: RuleSet) -> RuleSet | None:
        """Read the published version (at most once per interval); return the RuleSet to run
        instead of `running`, or None to keep it."""
        now = time.monotonic()
        if now - self._checked < self.interval:
            return None
        self._checked = now
        try:
            published = published_version(client)
        except redis.RedisError as exc:
            log.warning("cannot read the published rules version: %s", type(exc).__name__)
            return None
        if self._looked and published == self.seen:
            return None
        self._looked, self.seen = True, published
        if published is None or published == running.version:
            return None
        try:
            ruleset = self.files.load()
        except ConfigError as exc:
            log.error(
                "rules version %s is published but the rule files here do not load; "
                "keeping version %s",
                short(published),
                short(running.version),
            )
            for line in exc.errors:
                log.error("%s", line)
            return None
        if ruleset.version != published:
            log.error(
                "rules version %s is published but the rule files here hold version %s; "
                "keeping version %s (`klaxon reload` publishes the files)",
                short(published),
                short(ruleset.version),
                short(running.version),
            )
            return None
        log.info("rules reloaded: version %s, %d rules", short(ruleset.version), ruleset.count())
        return ruleset


_lock = threading.Lock()
_current: Context | None = None
_follower: Follower | None = None


def install(ruleset: RuleSet) -> Context:
    """Make `ruleset` the rules of this process (following no published version)."""
    global _current, _follower
    with _lock:
        _current = Context.build(ruleset, _current)
        _follower = None
        return _current


def follow(
    paths: Sequence[Path],
    env: Mapping[str, str] | None = None,
    interval: float = FOLLOW_INTERVAL,
    loaded: RuleSet | None = None,
    venues: Collection[str] | None = None,
) -> Context:
    """Load rule files now (ConfigError if bad), or take `loaded` as their content; from then
    on reload them (on the configured `venues`, see load_rules) when a new version is published
    (read at most once per `interval` seconds by current())."""
    global _current, _follower
    files = RuleFiles(tuple(Path(p) for p in paths), env, venues)
    ruleset = files.load() if loaded is None else loaded
    with _lock:
        _current = Context.build(ruleset, _current)
        _follower = Follower(files, interval)
        return _current


def current(client: redis.Redis | None = None) -> Context:
    """Return the rules in force; with `client`, reload first if a new version is published."""
    global _current
    with _lock:
        if client is not None and _follower is not None and _current is not None:
            ruleset = _follower.poll(client, _current.ruleset)
            if ruleset is not None:
                _current = Context.build(ruleset, _current)
                heap.settle()
        if _current is None:
            raise ConfigError("no rules installed in this worker (call workers.context.install)")
        return _current


def superseded(context: Context, client: redis.Redis) -> bool:
    """Whether `context` was this process's rules and a reload has replaced them (polling the
    published version as current() does); False for a context never installed (a test's)."""
    if _current is not context:
        return False
    return current(client) is not context


def uninstall() -> None:
    """Forget the installed rules (tests, and a worker shutting down)."""
    global _current, _follower
    with _lock:
        _current = None
        _follower = None
