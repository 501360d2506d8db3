"""The watcher of one venue account: its feeds, each in a thread, and a periodic kick.

The private feed gets a Backfill (watcher/backfill.py) run after each of its connects; the
periodic loop also retries a backfill that failed. resubscribe() moves the public feed to
another set of series (a new rules version) by reconnecting it with the new subscription: the
private feed is left alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import redis

from watcher.backfill import Backfill, BackfillOptions
from watcher.errors import ConfigError
from watcher.publish import Publisher
from watcher.stream import Stream, StreamOptions
from watcher.venues import Venue

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 10.0  # seconds a stopped feed's thread may take to close its connection


class Watcher:
    """Holds a venue account's public feed (the series' tickers) and, if asked, its private feed."""

    def __init__(
        self,
        venue: Venue,
        publisher: Publisher,
        series: Iterable[tuple[str, str]],
        private: bool = False,
        *,
        options: StreamOptions | None = None,
        kick_interval: float = 5.0,
        backfill: BackfillOptions | None = None,
    ) -> None:
        if (publisher.venue, publisher.account) != (venue.name, venue.account):
            raise ConfigError(
                f"publisher writes {publisher.venue}/{publisher.account} "
                f"but the venue is {venue.name}/{venue.account}"
            )
        self.venue = venue
        self.publisher = publisher
        self.options = options
        self.series = frozenset(series)
        self.backfills: list[Backfill] = []
        self.streams: list[Stream] = []
        for feed in venue.feeds(self.series, private):
            if feed.private:
                opt = backfill or BackfillOptions()
                filler = Backfill(venue.trading(opt.timeout), publisher, opt)
                feed = filler.attach(feed)
                self.backfills.append(filler)
            self.streams.append(Stream(feed, publisher, options))
        self.kick_interval = kick_interval
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards streams and threads against resubscribe()
        self._threads: dict[Stream, threading.Thread] = {}
        self._running = False

    def run(self) -> None:
        """Run every feed until stop(); every `kick_interval` seconds kick evaluation and retry
        a failed backfill whose backoff has passed."""
        self.publisher.ensure_groups()
        with self._lock:
            self._running = True
            for stream in self.streams:
                self._start(stream)
        log.info(
            "watching %s/%s: %s",
            self.publisher.venue,
            self.publisher.account,
            ", ".join(s.feed.name for s in self.streams) or "nothing (no series, no key)",
        )
        try:
            while True:
                self._kick()
                if self._stop.wait(self.kick_interval):
                    break
        finally:
            with self._lock:
                self._running = False
                threads = list(self._threads.values())
                for stream in self._threads:
                    stream.stop()
                self._threads.clear()
            for thread in threads:
                thread.join()

    def stop(self) -> None:
        """Make run() return (from any thread)."""
        self._stop.set()

    def resubscribe(self, series: Iterable[tuple[str, str]]) -> bool:
        """Hold the public feed for these (market, source) series from now on (from any thread).

        When they differ from the current ones, the public connections close and new ones
        open with the new subscription (closed first: two connections of one market would
        interleave their prices). Return whether anything changed. A series the venue refuses
        (ConfigError) leaves the feed as it was.
        """
        wanted = frozenset(series)
        with self._lock:
            if wanted == self.series:
                return False
            try:
                feeds = [f for f in self.venue.feeds(wanted, private=False) if not f.private]
            except ConfigError as exc:
                log.error(
                    "%s/%s: keeping the public feed: %s", self.venue.name, self.venue.account, exc
                )
                return False
            old = [s for s in self.streams if not s.feed.private]
            new = [Stream(feed, self.publisher, self.options) for feed in feeds]
            self.streams = [s for s in self.streams if s.feed.private] + new
            self.series = wanted
            stopped = [self._threads.pop(s) for s in old if s in self._threads]
            for stream in old:
                stream.stop()
            for thread in stopped:
                thread.join(JOIN_TIMEOUT)
            if self._running:
                for stream in new:
                    self._start(stream)
        log.info(
            "%s/%s: public feed now on %d series",
            self.publisher.venue,
            self.publisher.account,
            len(wanted),
        )
        return True

    def _start(self, stream: Stream) -> None:
        feed = stream.feed
        thread = threading.Thread(
            target=stream.run, name=f"{feed.venue}-{feed.account}-{feed.name}", daemon=True
        )
        self._threads[stream] = thread
        thread.start()

    def _kick(self) -> None:
        try:
            self.publisher.kick()
        except redis.RedisError as exc:
            log.warning("evaluation kick failed: %s: %s", type(exc).__name__, exc)
        for filler in self.backfills:
            try:
                filler.retry()
            except redis.RedisError as exc:
                log.warning("backfill retry failed: %s: %s", type(exc).__name__, exc)
