"""The lowest and highest price of one series over a time window, from the stream itself.

A Ring keeps BUCKETS closed buckets of window/BUCKETS each (their low and high) plus the current
one, by the ticks' exchange time: a price counts for at least the window after its tick and at
most window + window/BUCKETS. Observing a tick costs a few comparisons; a new bucket (at most
BUCKETS times a window) recomputes the closed buckets' extremes. One ring serves every rule of
a series with that window.

Its text form is what a stateful matcher saves in the stream's kind state, so the window follows
the stream to the next worker: the current bucket (current()) and each closed bucket on its own
(text(), in the slot slot() gives its number), written once, when it closes: BUCKETS slots hold
the window, a bucket overwriting the one BUCKETS before it, which has just left the window.
restore() takes the slots in any order and drops what is not in the window of the current
bucket (a slot left over from before a pause in the ticks). State saved by earlier versions,
all closed buckets in one text ("n,low,high;..."), is restored too.

Each ring's buckets are shifted by an offset of its own (offset(): from its name, the same in
every process), so the rings of a stream do not all start a bucket on the same tick: aligned,
a worker with 10,000 move rules over 1,000 markets started 1,000 buckets within 50 ms every 3 s
(each a few µs and two state fields), and the ticks behind them waited. State saved before the
offsets counts its buckets from the unshifted grid: restored, its buckets stand up to one bucket
(window/BUCKETS) earlier than they were, once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from zlib import crc32

BUCKETS = 20

Bucket = tuple[int, Decimal, Decimal]  # (bucket number: exchange ms // width, low, high)


class Ring:
    """Window extremes of one series (see the module)."""

    __slots__ = ("_closed", "bucket", "hi", "high", "lo", "low", "offset", "width")

    def __init__(self, window_ms: int, offset: int = 0) -> None:
        self.width = max(1, window_ms // BUCKETS)
        # Bucket n spans exchange times [n * width - offset, (n + 1) * width - offset).
        self.offset = offset % self.width
        self._closed: deque[Bucket] = deque()
        self.bucket = -1  # the current bucket's number (-1: no tick yet)
        self.lo = self.hi = Decimal(0)  # the current bucket's extremes
        self.low: Decimal | None = None  # the closed buckets' extremes (None: no closed one)
        self.high: Decimal | None = None

    def observe(self, now: Decimal, ms: int) -> int:
        """Add one tick; return 0 if nothing saved changed, 1 if the current bucket's extremes
        did, 2 if a new bucket started (the closed buckets changed)."""
        bucket = (ms + self.offset) // self.width
        if bucket <= self.bucket:  # the current bucket (a late tick counts in it too)
            if now < self.lo:
                self.lo = now
                return 1
            if now > self.hi:
                self.hi = now
                return 1
            return 0
        closed = self._closed
        if self.bucket >= 0:
            closed.append((self.bucket, self.lo, self.hi))
        oldest = bucket - BUCKETS
        while closed and closed[0][0] < oldest:
            closed.popleft()
        self.low = min(b[1] for b in closed) if closed else None
        self.high = max(b[2] for b in closed) if closed else None
        self.bucket, self.lo, self.hi = bucket, now, now
        return 2

    def extremes(self) -> tuple[Decimal, Decimal]:
        """Return the lowest and highest price of the window (the current bucket included)."""
        low, high = self.low, self.high
        return (
            self.lo if low is None or self.lo < low else low,
            self.hi if high is None or self.hi > high else high,
        )

    def buckets(self) -> tuple[Bucket, ...]:
        """Return the closed buckets, oldest first."""
        return tuple(self._closed)

    def current(self) -> str:
        """Return the current bucket as text: "n,low,high" ("" before the first tick)."""
        # text() of it, inline: written for every ring a batch moved.
        return f"{self.bucket},{self.lo!s},{self.hi!s}" if self.bucket >= 0 else ""

    def restore(
        self, current: str | None, slots: Iterable[str | None] = (), closed: str | None = None
    ) -> None:
        """Take back what current() and the slots saved (texts of closed buckets, in any order;
        `closed`: an earlier version's "n,low,high;..." of them all). Unreadable text is ignored:
        the window then starts again from the next tick."""
        try:
            found = [_bucket(text) for text in closed.split(";")] if closed else []
            found += [_bucket(text) for text in slots if text]
            now = _bucket(current) if current else None
        except (ValueError, InvalidOperation):
            return
        if now is None:
            return  # no tick yet (every save writes the current bucket)
        oldest = now[0] - BUCKETS
        kept = {b[0]: b for b in found if oldest <= b[0] < now[0]}  # as observe() keeps them
        buckets = sorted(kept.values())
        self._closed = deque(buckets)
        self.low = min(b[1] for b in buckets) if buckets else None
        self.high = max(b[2] for b in buckets) if buckets else None
        self.bucket, self.lo, self.hi = now


def offset(name: str) -> int:
    """Return the shift of the bucket grid of the ring saved as `name` (Ring reduces it modulo
    its width): crc32, not hash(), which differs between processes."""
    return crc32(name.encode())


def slot(number: int) -> int:
    """Return the slot in which the closed bucket `number` is saved."""
    return number % BUCKETS


def text(bucket: Bucket) -> str:
    """Return a bucket as text: "n,low,high"."""
    number, lo, hi = bucket
    # str(), not format(): the same text (an empty format spec is str()), at a third the cost.
    return f"{number},{lo!s},{hi!s}"


def _bucket(text: str) -> Bucket:
    number, lo, hi = text.split(",")
    return int(number), Decimal(lo), Decimal(hi)
