"""The watcher's self-monitoring: conditions that last, reported as events like any other.

One Monitor runs in the watcher process (`klaxon watch`), in a thread of its own, and looks once
a second at what only a timer can see:

- each feed (a Stream): `silent` (a market data feed, usable, brought no data), `down` (not
  usable: not connected, not logged in or not subscribed), `login_failed` (logins refused since),
  and what its Feed.trouble() reports (Binance: `listen_key`, the key could not be extended);
  written as FeedStatus to the account's private stream, through its Publisher;
- each stream it knows (ticker partitions, the accounts' private streams, the system stream):
  evaluation lag, the age of the oldest entry not yet evaluated (watcher/lag.py); written as
  EvaluationLag to the system stream (watcher/system.py).

Every condition goes in episodes (Episode): reported when a stretch of it passes each threshold
(the ladder below, plus the `seconds:` of the feed and lag rules of the published rules version,
watcher/published.py, followed as it changes), then once it has been
clear for `settle` seconds, reported recovered. A stretch that comes back within `settle` belongs
to the same episode, so a flapping feed is one episode, not a message per flap. Rules fire once
per episode (their subject is the episode's start, see rules/feed.py and rules/lag.py).

The watcher owns this because it alone sees frames arrive; lag is read from Redis, so a watcher
process is enough for it (with several watcher processes each reports lag, and a lag rule fires
once per process). Nothing runs when the watcher is stopped, and a lag event waits, like every
event, for a worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import partial

import redis

from watcher import keys
from watcher.errors import sample
from watcher.events import EvaluationLag, Event, FeedState, FeedStatus, SystemEvent
from watcher.lag import backlogs
from watcher.publish import Publisher, kick
from watcher.published import published_version, read_published
from watcher.stream import Stream
from watcher.system import ensure_system_group, publish_system
from watcher.venues import Feed, Parsed

log = logging.getLogger(__name__)

# Seconds at which a lasting condition is reported, whatever the rules ask; the published rules'
# own `seconds:` are added (a rule fires at its own seconds, or at the next step if a report
# passed it before its version was published).
LADDER = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
AT_ONCE = (0.0,)  # a refused login, a listen key not extended: reported the first time seen
KICK_INTERVAL = 5.0  # seconds between two kicks of the system stream (as Watcher's kick_interval)


@dataclass(frozen=True)
class MonitorOptions:
    """How often the monitor looks, how long a condition stays clear before it is over, and
    the thresholds (seconds) at which each lasting condition is reported."""

    interval: float = 1.0
    settle: float = 30.0
    silent: tuple[float, ...] = LADDER
    down: tuple[float, ...] = LADDER
    lag: tuple[float, ...] = LADDER

    def adding(
        self, silent: Iterable[float] = (), down: Iterable[float] = (), lag: Iterable[float] = ()
    ) -> MonitorOptions:
        """Return these options with more thresholds (the rules' own `seconds:`)."""
        return replace(
            self,
            silent=tuple(sorted({*self.silent, *silent})),
            down=tuple(sorted({*self.down, *down})),
            lag=tuple(sorted({*self.lag, *lag})),
        )


@dataclass(frozen=True)
class Report:
    """What one look at an Episode found: the condition lasts (alert) or it is over."""

    recovered: bool
    seconds: float  # alert: how long this stretch has lasted; recovered: the longest reported
    since: float  # time.monotonic() when the episode began
    at: float  # time.monotonic() of the report; recovered: when the condition cleared


class Episode:
    """One condition of one subject (a feed's silence, a stream's lag) over time, in episodes.

    An episode begins when a stretch of the condition lasts the first threshold; each further
    threshold a stretch passes is reported once; once the condition has been clear for `settle`
    seconds the episode is over (reported recovered if anything was reported).
    """

    def __init__(self, thresholds: Sequence[float], settle: float) -> None:
        if not thresholds:
            raise ValueError("an Episode needs at least one threshold")
        self.thresholds = sorted(set(thresholds))
        self.settle = settle
        self.since: float | None = None  # when the episode began; None: none is going on
        self.clear_since: float | None = None
        self._passed = 0  # thresholds reported in this episode
        self._longest = 0.0  # the longest stretch reported

    def retune(self, thresholds: Sequence[float]) -> None:
        """Report at these thresholds from now on; those the longest stretch reported in this
        episode has passed count as reported."""
        if not thresholds:
            raise ValueError("an Episode needs at least one threshold")
        self.thresholds = sorted(set(thresholds))
        active = self.since is not None
        passed = [t for t in self.thresholds if t <= self._longest] if active else []
        self._passed = len(passed)

    def observe(self, now: float, stretch: float | None) -> Report | None:
        """Look once: `stretch` is how long the condition has held now (None: it does not)."""
        if stretch is not None and stretch >= self.thresholds[0]:
            if self.since is None:
                self.since, self._passed, self._longest = now - stretch, 0, 0.0
            self.clear_since = None
            passed = self._passed
            while passed < len(self.thresholds) and stretch >= self.thresholds[passed]:
                passed += 1
            if passed == self._passed:
                return None
            self._passed = passed
            self._longest = max(self._longest, stretch)
            return Report(False, stretch, self.since, now)
        if self.since is None:
            return None
        if self.clear_since is None:
            self.clear_since = now
        if now - self.clear_since < self.settle:
            return None
        report = Report(True, self._longest, self.since, self.clear_since)
        self.since = self.clear_since = None
        return report


@dataclass
class _Watched:
    """A feed's Stream, the publisher of its account, and its conditions' episodes."""

    stream: Stream
    publisher: Publisher
    episodes: dict[FeedState, Episode] = field(default_factory=dict)


class Monitor:
    """Looks at feeds and streams every `interval` seconds and reports what lasts (see above)."""

    def __init__(
        self,
        client: redis.Redis,
        feeds: Iterable[tuple[Stream, Publisher]],
        streams: Iterable[str],
        options: MonitorOptions | None = None,
    ) -> None:
        self.client = client
        self.options = opt = options or MonitorOptions()
        self.tuned = opt  # the thresholds in force: the options', and the published rules'
        self.streams = list(dict.fromkeys([*streams, keys.SYSTEM_STREAM]))
        self._feeds = [_Watched(stream, publisher) for stream, publisher in feeds]
        for watched in self._feeds:
            episodes = watched.episodes
            episodes["down"] = Episode(opt.down, opt.settle)
            episodes["login_failed"] = Episode(AT_ONCE, opt.settle)
            if _market_data(watched.stream.feed):  # an account may well have nothing to say
                episodes["silent"] = Episode(opt.silent, opt.settle)
        self._lag = {stream: Episode(opt.lag, opt.settle) for stream in self.streams}
        self._stop = threading.Event()
        self._kick_at = 0.0
        # time.monotonic() -> epoch seconds, fixed once: an episode's start converts the same
        # way in each of its reports (its rules' claims are about it, to the millisecond).
        self._epoch = time.time() - time.monotonic()
        self._version: str | None = None  # the published rules version whose thresholds apply

    def run(self) -> None:
        """Look every `interval` seconds until stop()."""
        try:
            ensure_system_group(self.client)
        except redis.RedisError as exc:
            log.warning("monitor: cannot create the system stream's group: %s", exc)
        while not self._stop.wait(self.options.interval):
            self.check()

    def stop(self) -> None:
        """Make run() return (from any thread)."""
        self._stop.set()

    def check(self) -> None:
        """Look once at every feed and stream; publish what is to be reported."""
        self._guard("rules version", self._follow)
        now = time.monotonic()
        for watched in self._feeds:
            events = self._feed_events(watched, now)
            if events:
                self._guard("feed events", partial(watched.publisher.publish, [Parsed([], events)]))
        self._guard("lag", partial(self._check_lag, now))

    def retune(self, thresholds: Mapping[str, Iterable[float]]) -> None:
        """Report each condition at these seconds (by condition: "silent", "down", "lag") and
        at the ladder's."""
        tuned = self.options.adding(
            silent=thresholds.get("silent", ()),
            down=thresholds.get("down", ()),
            lag=thresholds.get("lag", ()),
        )
        self.tuned = tuned
        by_state: dict[str, tuple[float, ...]] = {"silent": tuned.silent, "down": tuned.down}
        for watched in self._feeds:
            for state, episode in watched.episodes.items():
                if state in by_state:
                    episode.retune(by_state[state])
        for episode in self._lag.values():
            episode.retune(tuned.lag)

    def _follow(self) -> None:
        """Take the thresholds of a newly published rules version (one HGET a look)."""
        if published_version(self.client) in (None, self._version):
            return
        published = read_published(self.client)
        if published is not None:
            self._version = published.version
            self.retune(published.thresholds)
            log.info("monitor: thresholds of rules version %s", published.version[:12])

    def _guard(self, what: str, step: Callable[[], None]) -> None:
        try:
            step()
        except (redis.RedisError, OSError) as exc:  # Redis is away: the next look tries again
            log.warning("monitor: %s not written: %s: %s", what, type(exc).__name__, exc)

    def _feed_events(self, watched: _Watched, now: float) -> list[Event]:
        stream = watched.stream
        feed = stream.feed
        ready = stream.ready_since  # read before down_since: see Stream._close
        stretches: dict[FeedState, tuple[float | None, str]] = {
            "down": (now - stream.down_since if ready is None else None, stream.last_failure),
            "silent": (None if ready is None else now - max(stream.last_data, ready), ""),
        }
        failure = stream.login_failure
        stretches["login_failed"] = (
            (None, "") if failure is None else (now - failure[0], failure[1])
        )
        trouble = feed.trouble() if feed.trouble is not None else None
        if trouble is not None and trouble.state not in watched.episodes:
            watched.episodes[trouble.state] = Episode(AT_ONCE, self.options.settle)
        events: list[Event] = []
        for state, episode in watched.episodes.items():
            stretch: float | None
            if trouble is not None and trouble.state == state:
                stretch, detail = now - trouble.since, trouble.detail
            else:
                stretch, detail = stretches.get(state, (None, ""))
            report = episode.observe(now, stretch)
            if report is None:
                continue
            label = f"{feed.venue} {feed.name}" + (f" ({feed.account})" if feed.account else "")
            if report.recovered:
                log.info("%s: %s is over", label, state)
            else:
                log.warning("%s: %s for %.0fs %s", label, state, report.seconds, detail)
            events.append(
                FeedStatus(
                    venue=feed.venue,
                    account=feed.account,
                    feed=feed.name,
                    status="recovered" if report.recovered else state,
                    code=state if report.recovered else "",
                    detail="" if report.recovered else sample(detail),
                    seconds=round(report.seconds, 3),
                    since=self._wall(report.since),
                    at=self._wall(report.at),
                )
            )
        return events

    def _wall(self, monotonic: float) -> datetime:
        """Return the time of a time.monotonic() reading, to the millisecond."""
        return datetime.fromtimestamp(round(monotonic + self._epoch, 3), UTC)

    def _check_lag(self, now: float) -> None:
        found = backlogs(self.client, self.streams)
        events: list[SystemEvent] = []
        for stream, episode in self._lag.items():
            backlog = found.get(stream)
            report = episode.observe(now, None if backlog is None else backlog.seconds)
            if report is None:
                continue
            if report.recovered:
                log.info("%s: evaluation lag is over", stream)
            else:
                log.warning("%s: evaluation lags %.1fs behind", stream, report.seconds)
            events.append(
                EvaluationLag(
                    stream=stream,
                    seconds=round(report.seconds, 3),
                    entries=0 if report.recovered or backlog is None else backlog.entries,
                    since=self._wall(report.since),
                    recovered=report.recovered,
                    at=self._wall(report.at),
                )
            )
        publish_system(self.client, events, int(time.time() * 1000))
        if now >= self._kick_at:  # a dead job's leftovers get read
            kick(self.client, [keys.SYSTEM_STREAM])
            self._kick_at = now + KICK_INTERVAL


def _market_data(feed: Feed) -> bool:
    """Whether a feed carries market data (every venue names its account's feed "private")."""
    return not feed.private and feed.name != "private"
