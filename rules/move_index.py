"""The move kind's matcher: the move rules by series and window, each window a Ring.

Per price series and window, a Ring (rules/ring.py) keeps the window's lowest and highest price;
the rules of one ring sit in sorted thresholds per direction and unit, so a tick costs a ring
update and a bisection per group, however many rules share it, and most ticks (within every
ring's current bucket and range, short of every trigger) cost a few comparisons (a _Watch's
band). The rings live in the stream's kind state (MoveIndex.bind), per ring `<series>|<window>`:
`|c` the current bucket, and `|0`..`|19` the closed buckets, one field per slot (rules/ring.py),
each written once, when its bucket closes: a new bucket costs two short fields, not the whole
window (at 10,000 move rules a ticker stream closes ~400 buckets a second). The current bucket's
extremes move on many ticks of a batch: its text is written once, when the state is next read
(KindState.defer: the drain's save reads it), not on each. A stream handed to another worker
goes on with the same window. A ring saved by an earlier version (all closed buckets in the
field `<series>|<window>`) is restored and written again as slots when first loaded.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from decimal import Decimal

from rules.base import Series
from rules.gate import Gate
from rules.move import HUNDRED, INF, NEG_INF, Direction, MoveRule, moments
from rules.ring import BUCKETS, Ring, offset, slot, text
from rules.state import KindState

ZERO = Decimal(0)


@dataclass
class _Group:
    """The rules of one ring that fire the same way: one direction, amount or percentage;
    thresholds ascending, with their positions and rule ids."""

    direction: Direction
    percent: bool
    keys: list[Decimal] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


@dataclass
class _Spec:
    """The rules of one (series, window): their groups, and the rules with options; the
    smallest threshold of each kind, from which a ring's trigger prices are derived."""

    window: int
    groups: list[_Group] = field(default_factory=list)
    gated: list[tuple[int, MoveRule]] = field(default_factory=list)
    up_amount: Decimal = INF
    up_percent: Decimal = INF
    down_amount: Decimal = INF
    down_percent: Decimal = INF
    # up_percent / 100 and down_percent / 100 when exact (None: no such rule, or a percentage
    # of more than 28 digits): then x * share is x * percent / 100 to the last digit, a
    # multiplication where that is two operations (rounding once, at the same digit).
    up_share: Decimal | None = None
    down_share: Decimal | None = None

    def add(self, rule: MoveRule) -> None:
        """Lower the smallest threshold of the rule's direction(s) and unit to its `by`."""
        unit = "percent" if rule.percent else "amount"
        for direction in ("up", "down"):
            if rule.direction in (direction, "either"):
                name = f"{direction}_{unit}"
                setattr(self, name, min(getattr(self, name), rule.by))
        self.up_share, self.down_share = _share(self.up_percent), _share(self.down_percent)

    def rise(self, low: Decimal) -> Decimal:
        """Return the price at or above which some up move fires, from the window's low."""
        up = low + self.up_amount  # Infinity when no rule measures an amount
        share = self.up_share
        if share is not None:
            if low > ZERO:
                by = low + low * share
                if by < up:
                    up = by
        elif self.up_percent != INF and low > 0:
            up = min(up, low + low * self.up_percent / HUNDRED)
        return up

    def fall(self, high: Decimal) -> Decimal:
        """Return the price at or below which some down move fires, from the window's high."""
        down = high - self.down_amount  # -Infinity when no rule measures an amount
        share = self.down_share
        if share is not None:
            by = high - high * share
            if by > down:
                down = by
        elif self.down_percent != INF:
            down = max(down, high - high * self.down_percent / HUNDRED)
        return down


def _share(percent: Decimal) -> Decimal | None:
    """Return percent / 100 if it is exact, else None (Infinity: no such rule)."""
    if percent == INF:
        return None
    share = percent / HUNDRED
    return share if share * HUNDRED == percent else None


class _Live:
    """One ring of a bound matcher, with the prices beyond which some rule may fire: at or
    above `up`, at or below `down` (recomputed when the window's extremes move), and whether
    its current bucket changed since the state last read it (`dirty`)."""

    __slots__ = ("current", "dirty", "down", "gated", "name", "ring", "spec", "up")

    def __init__(self, ring: Ring, spec: _Spec, name: str) -> None:
        self.ring, self.spec, self.name = ring, spec, name
        self.current = name + "|c"  # the state field of the current bucket
        self.gated = bool(spec.gated)
        self.dirty = False
        self.up, self.down = INF, NEG_INF
        if ring.bucket >= 0:
            self.retrigger()

    def retrigger(self) -> None:
        """Recompute the trigger prices from the window's extremes."""
        ring = self.ring
        low = ring.lo if ring.low is None or ring.lo < ring.low else ring.low
        high = ring.hi if ring.high is None or ring.hi > ring.high else ring.high
        self.up, self.down = self.spec.rise(low), self.spec.fall(high)


class _Watch:
    """A series' rings in a bound matcher, and the band a tick may fall in without changing
    any ring or firing any rule: before `until` (the first bucket's end), within every ring's
    current bucket (at or above `lo`, the highest of their lows; at or below `hi`) and strictly
    between every trigger (above `down`, the highest; below `up`, the lowest), folded into one
    floor and one ceiling (each inclusive or not). Most ticks fall in it: they cost two price
    comparisons. Until a ring starts a bucket, the rings' extremes and triggers only move
    outwards, and so do lo, hi, up and down: a tick outside the band moves them by itself."""

    __slots__ = (
        "ceiling", "ceiling_open", "down", "floor", "floor_open", "gated", "hi", "lives", "lo",
        "source", "until", "up", "venue",
    )  # fmt: skip

    def __init__(self, series: Series, lives: tuple[_Live, ...]) -> None:
        self.venue, _, self.source = series
        self.lives = lives
        self.gated = any(live.gated for live in lives)
        # A series no rule watches: every tick falls in the band.
        self.until = 2**63
        self.lo, self.hi, self.up, self.down = NEG_INF, INF, INF, NEG_INF
        self.floor, self.ceiling = NEG_INF, INF
        self.floor_open = self.ceiling_open = False
        if lives:
            self.band()

    def band(self) -> None:
        """Recompute the band from the rings (after a tick that started a bucket)."""
        until, lo, hi, up, down = 2**63, NEG_INF, INF, INF, NEG_INF
        for live in self.lives:  # a loop, not min()/max() of generators: no call per ring
            ring = live.ring
            end = (ring.bucket + 1) * ring.width - ring.offset if ring.bucket >= 0 else 0
            if end < until:
                until = end
            if ring.lo > lo:
                lo = ring.lo
            if ring.hi < hi:
                hi = ring.hi
            if live.up < up:
                up = live.up
            if live.down > down:
                down = live.down
        self.until, self.lo, self.hi, self.up, self.down = until, lo, hi, up, down
        self.fold()

    def fold(self) -> None:
        """Fold lo and down into the floor, hi and up into the ceiling."""
        lo, hi, up, down = self.lo, self.hi, self.up, self.down
        # now >= lo and now > down: now > down when down >= lo, else now >= lo (and above).
        self.floor, self.floor_open = (down, True) if down >= lo else (lo, False)
        self.ceiling, self.ceiling_open = (up, True) if up <= hi else (hi, False)


_SLOTS = tuple(f"|{n}" for n in range(BUCKETS))  # the closed buckets' field suffixes


class MoveIndex:
    """The move rules by series and window; bind() evaluates one stream against its state."""

    def __init__(self, rules: Sequence[MoveRule]) -> None:
        self._rules = rules
        self._alive = bytearray(b"\x01") * len(rules)
        self._specs: dict[Series, tuple[_Spec, ...]] = {}
        by_series: dict[Series, dict[int, _Spec]] = {}
        for position, rule in enumerate(rules):
            series = (rule.venue, rule.market, rule.source)
            spec = by_series.setdefault(series, {}).setdefault(rule.window, _Spec(rule.window))
            spec.add(rule)
            if rule.options.gated:
                spec.gated.append((position, rule))
                continue
            group = next(
                (
                    g
                    for g in spec.groups
                    if g.direction == rule.direction and g.percent == rule.percent
                ),
                None,
            )
            if group is None:
                group = _Group(rule.direction, rule.percent)
                spec.groups.append(group)
            i = bisect_right(group.keys, rule.by)
            group.keys.insert(i, rule.by)
            group.positions.insert(i, position)
            group.ids.insert(i, rule.id)
        self._specs = {s: tuple(windows.values()) for s, windows in by_series.items()}
        self._state = KindState()
        self._gate = Gate(self._state)
        self._watches: dict[Series, _Watch] = {}
        self._markets: dict[str, _Watch] = {}  # by market: the watch of its last series
        self._dirty: list[_Live] = []  # the rings whose current bucket is still to be written

    def bind(self, state: KindState) -> MoveIndex:
        """Return this index evaluating one stream against `state` (its rings and timers),
        sharing what is retired."""
        bound = copy(self)
        bound._state = state
        bound._gate = Gate(state)
        bound._watches = {}
        bound._markets = {}
        bound._dirty = []
        return bound

    def retire(self, position: int) -> None:
        """Stop returning a rule that can never fire again (a once-rule already claimed)."""
        self._alive[position] = 0

    def candidates(
        self, venue: str, market: str, source: str, prev: Decimal | None, now: Decimal, ms: int
    ) -> list[int]:
        """Return, ascending, the positions of the live rules this tick's move fires."""
        # By market first: a lookup by one string costs a third of one by a new tuple; a market
        # whose ticks alternate between two series (two sources) takes the tuple's too.
        watch = self._markets.get(market)
        if watch is None or watch.source != source or watch.venue != venue:
            watch = self._watch(venue, market, source)
        # The common tick: within every ring's current bucket and range, and every trigger
        # (every tick of a series no rule watches).
        if (
            ms < watch.until
            and (now > watch.floor if watch.floor_open else now >= watch.floor)
            and (now < watch.ceiling if watch.ceiling_open else now <= watch.ceiling)
            and not watch.gated
        ):
            return []
        if ms < watch.until and watch.down < now < watch.up and not watch.gated:
            self._widen(watch, now)  # a new extreme of some current bucket, and no more
            return []
        found: list[int] = []
        opens = ms >= watch.until  # some ring starts a bucket
        for live in watch.lives:
            ring = live.ring
            if opens and (ms + ring.offset) // ring.width > ring.bucket:
                self._observe(live, now, ms)  # a new bucket
            elif now < ring.lo:
                self._lower(watch, live, now)
            elif now > ring.hi:
                self._raise(watch, live, now)
            if now >= live.up or now <= live.down:
                self._fire(live, now, found)
            if live.gated:
                self._admit(live, now, ms, found)
        if opens:
            watch.band()
        elif watch.lives:
            # Each ring's low is now min(its low, now), its high max(its high, now).
            if now < watch.lo:
                watch.lo = now
            elif now > watch.hi:
                watch.hi = now
            watch.fold()
        if len(found) > 1:
            found.sort()
        return found

    def _widen(self, watch: _Watch, now: Decimal) -> None:
        """Take a tick below some ring's current low (or above its high) that starts no bucket
        and reaches no trigger: the rings it passes take it as their low (high), and a ring
        whose window it leaves moves its trigger away from it, so nothing fires."""
        if now < watch.lo:
            for live in watch.lives:
                if now < live.ring.lo:
                    self._lower(watch, live, now)
            watch.lo = now
        else:
            for live in watch.lives:
                if now > live.ring.hi:
                    self._raise(watch, live, now)
            watch.hi = now
        watch.fold()

    def _lower(self, watch: _Watch, live: _Live, now: Decimal) -> None:
        """Take `now` as a ring's current low (it is below it); if it is the window's low too,
        the ring's up trigger moves (above `now`)."""
        ring = live.ring
        ring.lo = now
        if not live.dirty:
            self._touch(live)
        if ring.low is None or now < ring.low:
            live.up = up = live.spec.rise(now)
            if up < watch.up:
                watch.up = up

    def _raise(self, watch: _Watch, live: _Live, now: Decimal) -> None:
        """Take `now` as a ring's current high (it is above it); if it is the window's high
        too, the ring's down trigger moves (below `now`)."""
        ring = live.ring
        ring.hi = now
        if not live.dirty:
            self._touch(live)
        if ring.high is None or now > ring.high:
            live.down = down = live.spec.fall(now)
            if down > watch.down:
                watch.down = down

    def _observe(self, live: _Live, now: Decimal, ms: int) -> None:
        """Add a tick that moved the ring; save what changed and move the triggers."""
        ring = live.ring
        closing = (ring.bucket, ring.lo, ring.hi)
        changed = ring.observe(now, ms)
        if changed:
            if changed == 2 and closing[0] >= 0:  # the current bucket closed: save it, alone
                self._state.set(f"{live.name}|{slot(closing[0])}", text(closing))
            if not live.dirty:
                self._touch(live)
            live.retrigger()

    def _touch(self, live: _Live) -> None:
        """Note that a ring's current bucket changed: its field is written when the state is
        next read (KindState.defer), once however many ticks of a batch move it."""
        live.dirty = True
        dirty = self._dirty
        if not dirty:
            self._state.defer(self._write)
        dirty.append(live)

    def _write(self) -> None:
        """Write the current bucket of each ring that changed since the state was last read."""
        state, dirty = self._state, self._dirty
        for live in dirty:
            live.dirty = False
            state.set(live.current, live.ring.current())
        dirty.clear()

    def _watch(self, venue: str, market: str, source: str) -> _Watch:
        """Return a series' watch, loaded on its first tick, as its market's from now on."""
        key = (venue, market, source)
        watch = self._watches.get(key)
        if watch is None:
            watch = self._watches[key] = self._load(key)
        self._markets[market] = watch
        return watch

    def _load(self, key: Series) -> _Watch:
        """Return the series' rings, restored from the state (none for a series no rule has)."""
        lives = []
        state = self._state
        saved = state.fields  # read once: one dict lookup per field, not a call
        for spec in self._specs.get(key, ()):
            name = f"{'|'.join(key)}|{spec.window}"
            ring = Ring(spec.window, offset(name))
            current = saved.get(name + "|c")  # saved from the ring's first tick on
            whole = saved.get(name)  # an earlier version's closed buckets, in one field
            if current:  # else a new ring: no slot to read (restore() would take none)
                slots = [name + suffix for suffix in _SLOTS]
                ring.restore(current, [saved.get(f) for f in slots], whole)
                if whole is not None:
                    for bucket in ring.buckets():
                        state.set(slots[slot(bucket[0])], text(bucket))
            if whole is not None:
                state.delete(name)
            lives.append(_Live(ring, spec, name))
        return _Watch(key, tuple(lives))  # no lives: every tick falls in its band

    def _fire(self, live: _Live, now: Decimal, found: list[int]) -> None:
        """Add the rules of a ring whose threshold this tick's move reaches."""
        low, high = live.ring.extremes()
        alive = self._alive
        seen = moments()
        for group in live.spec.groups:
            direction, measure, reference = _measure(group, low, high, now)
            if measure < group.keys[0]:
                continue
            stop = bisect_right(group.keys, measure)
            for position, rule_id in zip(group.positions[:stop], group.ids[:stop], strict=True):
                if alive[position]:
                    found.append(position)
                    seen[rule_id] = (direction, reference)

    def _admit(self, live: _Live, now: Decimal, ms: int, found: list[int]) -> None:
        """Ask the gate about each live rule with options of a ring."""
        low, high = live.ring.extremes()
        alive, gate = self._alive, self._gate
        for position, rule in live.spec.gated:
            if not alive[position]:
                continue
            moved = rule.moved(low, high, now)
            fires = moved is not None
            if gate.admit(rule.id, rule.options, ms, fires=fires, holds=fires):
                if moved is not None:
                    found.append(position)
                    moments()[rule.id] = moved
            elif gate.expired(rule.id, rule.options, ms):
                alive[position] = 0


def _measure(
    group: _Group, low: Decimal, high: Decimal, now: Decimal
) -> tuple[str, Decimal, Decimal]:
    """Return (direction, move in the group's unit, reference price) of a tick for a group."""
    up = now - low
    down = high - now
    if group.percent:
        up = up * HUNDRED / low if low > 0 else Decimal(0)
        down = down * HUNDRED / high if high > 0 else Decimal(0)
    if group.direction == "up" or (group.direction == "either" and up >= down):
        return "up", up, low
    return "down", down, high
