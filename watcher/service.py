"""The watcher of one venue account: its feeds, each in a thread, and a periodic kick.

The private feed gets a Backfill (watcher/backfill.py) run after each of its connects; the
periodic loop also retries a backfill that failed.
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
        self.publisher = publisher
        self.backfills: list[Backfill] = []
        self.streams: list[Stream] = []
        for feed in venue.feeds(series, private):
            if feed.private:
                opt = backfill or BackfillOptions()
                filler = Backfill(venue.trading(opt.timeout), publisher, opt)
                feed = filler.attach(feed)
                self.backfills.append(filler)
            self.streams.append(Stream(feed, publisher, options))
        self.kick_interval = kick_interval
        self._stop = threading.Event()

    def run(self) -> None:
        """Run every feed until stop(); every `kick_interval` seconds kick evaluation and retry
        a failed backfill whose backoff has passed."""
        self.publisher.ensure_groups()
        threads = [
            threading.Thread(
                target=s.run, name=f"{s.feed.venue}-{s.feed.account}-{s.feed.name}", daemon=True
            )
            for s in self.streams
        ]
        for thread in threads:
            thread.start()
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
            for stream in self.streams:
                stream.stop()
            for thread in threads:
                thread.join()

    def stop(self) -> None:
        """Make run() return (from any thread)."""
        self._stop.set()

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
