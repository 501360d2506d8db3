"""Gap backfill: after every connect of a private feed, what it missed comes over REST.

While a private connection is down, fills and order changes happen without reaching us. After
each connect (Feed.on_connected: the subscriptions are sent, no frame is read yet) a Backfill
asks the venue's REST API (the Trading protocol) for the account's fills since its mark (naming
the markets it knows when the venue lists fills per market: FillsByMarket), and for its open
orders when the venue can list them (OpenOrders), and publishes those the private
stream does not hold yet, marked `late`. The publisher writes each fill and order state once
(watcher.publish.seen_member), so a push that also arrives live is dropped there.

The mark (keys.backfill_mark, epoch ms) moves only once a fetch has been published: to the
time that fetch started. The next fetch starts `overlap` before it (clock skew, REST lag); an
account's first starts `lookback` ago. A REST failure publishes a FeedStatus "error" (code
"backfill"), leaves the mark where it was, keeps the connection (live events still flow) and
is retried with backoff by the watcher's loop, or at the next connect, whichever comes first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from watcher import keys
from watcher.errors import ExchangeError, sample
from watcher.events import FeedStatus, Fill, OrderUpdate, utc_from_ms
from watcher.publish import SEEN_TTL_MS, Publisher, seen_member
from watcher.published import read_published
from watcher.venues import Feed, FillsByMarket, OpenOrders, Parsed, Trading

log = logging.getLogger(__name__)

BACKFILL_CODE = "backfill"  # the FeedStatus code of a failed backfill


@dataclass(frozen=True)
class BackfillOptions:
    """How far back a backfill reaches, and how it retries (seconds)."""

    lookback: float = 300.0  # the first fetch of an account that has no mark yet
    overlap: float = 120.0  # each fetch starts this long before the mark
    max_gap: float = 3 * 86_400.0  # never further back: the publisher remembers SEEN_TTL_MS
    retry_base: float = 5.0
    retry_cap: float = 300.0
    timeout: float = 10.0  # of each REST call

    def __post_init__(self) -> None:
        if self.max_gap * 1000 >= SEEN_TTL_MS:
            raise ValueError("max_gap must be shorter than what the publisher remembers")


class Backfill:
    """Fetches over REST what one account's private feed missed, and publishes it late."""

    def __init__(
        self,
        trading: Trading,
        publisher: Publisher,
        options: BackfillOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.trading = trading
        self.publisher = publisher
        self.options = options or BackfillOptions()
        self.retry_at: float | None = None  # monotonic time of the retry owed, if one is
        self.feed = "private"
        self._clock = clock
        self._failures = 0  # in a row
        self._lock = threading.Lock()  # the stream's thread and the watcher's loop both run it
        self._label = f"{publisher.venue}/{publisher.account}"
        self._mark = keys.backfill_mark(publisher.venue, publisher.account)

    def attach(self, feed: Feed) -> Feed:
        """Return `feed` with this backfill run after each connect (after the feed's own hook)."""
        own = feed.on_connected
        self.feed = feed.name

        def on_connected() -> Sequence[Parsed]:
            first = list(own()) if own is not None else []
            return [*first, *self.run()]

        return replace(feed, on_connected=on_connected)

    def run(self) -> list[Parsed]:
        """Fetch and publish what was missed since the mark; if the REST API failed, return the
        FeedStatus error to publish (a retry is then owed). Redis errors propagate."""
        with self._lock:
            try:
                self._backfill()
            except ExchangeError as exc:
                return [self._failed(exc)]
            self.retry_at = None
            self._failures = 0
            return []

    def retry(self) -> None:
        """Run a failed backfill again once its backoff has passed (the watcher's loop asks)."""
        if self.retry_at is None or time.monotonic() < self.retry_at:
            return
        failed = self.run()
        if failed:
            self.publisher.publish(failed)

    def _backfill(self) -> None:
        opt, redis = self.options, self.publisher.redis
        now_ms = int(self._clock() * 1000)
        raw = redis.get(self._mark)
        mark = int(raw) if raw is not None else None
        since_ms = (
            now_ms - int(opt.lookback * 1000) if mark is None else mark - int(opt.overlap * 1000)
        )
        floor = now_ms - int(opt.max_gap * 1000)
        if since_ms < floor:
            log.warning(
                "%s: disconnected since %s, longer than the backfill reaches: fills before %s "
                "are not fetched",
                self._label,
                _iso(since_ms),
                _iso(floor),
            )
            since_ms = floor
        since = utc_from_ms(since_ms)
        events: list[Fill | OrderUpdate] = []
        if isinstance(self.trading, FillsByMarket):
            events += self.trading.fills_in(since, self._known_markets())
        else:
            events += self.trading.fills_since(since)
        if isinstance(self.trading, OpenOrders):
            events += self.trading.pending_orders()
        missed = self._unseen(events)
        if missed:
            late = [e.model_copy(update={"late": True}) for e in missed]
            self.publisher.publish([Parsed([], sorted(late, key=lambda e: e.at))])
            fills = sum(isinstance(e, Fill) for e in missed)
            log.info(
                "%s: backfilled %d fill(s) and %d order state(s) missed since %s",
                self._label,
                fills,
                len(missed) - fills,
                _iso(since_ms),
            )
        # Only now, with what was missed in the stream: a crash before this fetches it again.
        redis.set(self._mark, max(now_ms, mark or 0))

    def _known_markets(self) -> set[str]:
        """Return the markets this account is known to trade in: its venue's in the published
        rules, and those of the fills the publisher remembers."""
        redis, venue = self.publisher.redis, self.publisher.venue
        published = read_published(redis)
        known = {m for m, _ in published.venue_series(venue)} if published is not None else set()
        for member, _ in redis.zscan_iter(self.publisher.seen, match=keys.SEEN_FILLS, count=1000):
            market = keys.seen_fill_market(member)
            if market is not None:
                known.add(market)
        return known

    def _unseen(self, events: list[Fill | OrderUpdate]) -> list[Fill | OrderUpdate]:
        """Return the events the private stream does not hold yet (counting stays honest; the
        publisher's own check is what makes the write once)."""
        if not events:
            return []
        pairs = [(e, member) for e in events if (member := seen_member(e)) is not None]
        scores = self.publisher.redis.zmscore(self.publisher.seen, [m for _, m in pairs])
        return [e for (e, _), score in zip(pairs, scores, strict=True) if score is None]

    def _failed(self, exc: ExchangeError) -> Parsed:
        self._failures += 1
        opt = self.options
        delay = min(opt.retry_cap, opt.retry_base * 2.0 ** min(self._failures - 1, 30))
        self.retry_at = time.monotonic() + delay
        why = f"{type(exc).__name__}: {exc}"
        log.warning("%s: backfill failed (%s); retrying in %.0fs", self._label, why, delay)
        status = FeedStatus(
            venue=self.publisher.venue,
            feed=self.feed,
            status="error",
            code=BACKFILL_CODE,
            detail=sample(f"backfill failed, retrying in {delay:.0f}s: {why}"),
            at=datetime.now(UTC),
        )
        return Parsed([], [status])


def _iso(ms: int) -> str:
    return utc_from_ms(ms).isoformat(timespec="seconds")
