"""Move rules on scripted paths (pure: the real matcher and rings, no Redis): what fires when,
read from a rule file with file:line errors, and the window kept in the stream's kind state."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from rules.kinds import KindState
from rules.move import MoveBook, MoveRule
from rules.move_index import MoveIndex, _share, _Spec
from rules.ring import BUCKETS, Ring, offset, slot, text
from tests.scripted import Worker, fired, ruleset
from watcher.errors import ConfigError

S = 1000  # ms
M = 60 * S
T = 1_700_000_060_000


def rule(spec: str, extra: str = "") -> str:
    return f"  - {{name: mv, notify: desk, move: {{market: BTC-USDT, {spec}}}{extra}}}\n"


PATHS: list[tuple[str, str, list[tuple[int, str]], list[tuple[str, int]]]] = [
    (
        "up 3% from the window's low fires on the tick that reaches it",
        rule("by: '3%', window: 5m, direction: up"),
        [(0, "100"), (1 * M, "98"), (2 * M, "100"), (3 * M, "100.93"), (3 * M + S, "100.94")],
        [("mv", 3 * M + S)],
    ),
    (
        "a low older than the window no longer counts",
        rule("by: '3%', window: 1m, direction: up"),
        [(0, "100"), (90 * S, "101"), (100 * S, "103")],
        [],
    ),
    (
        "down by an amount from the window's high",
        rule("by: 500, window: 10m, direction: down"),
        [(0, "60000"), (1 * M, "60400"), (5 * M, "59950"), (6 * M, "59900")],
        [("mv", 6 * M)],
    ),
    (
        "either: the default cooldown (one window) keeps a long move to one firing",
        rule("by: '1%', window: 1m"),
        [(0, "100"), (10 * S, "101"), (20 * S, "102"), (50 * S, "99"),
         (80 * S, "97"), (81 * S, "96")],
        [("mv", 10 * S), ("mv", 80 * S)],
    ),
    (
        "a cooldown shorter than the window fires again while the move lasts",
        rule("by: '1%', window: 1m, direction: up", ", cooldown: 10s"),
        [(0, "100"), (1 * S, "101"), (5 * S, "101.5"), (11 * S, "101.2"), (12 * S, "100")],
        [("mv", 1 * S), ("mv", 11 * S)],
    ),
    (
        "once: a single firing",
        rule("by: 1, window: 1s", ", repeat: once"),
        [(0, "10"), (500, "11"), (5 * S, "10"), (5 * S + 500, "12")],
        [("mv", 500)],
    ),
    (
        "hold: the move must last 2 s",
        rule("by: '2%', window: 1m, direction: up", ", hold: 2s"),
        [(0, "100"), (1 * S, "102"), (2 * S, "101"), (3 * S, "102.5"), (4 * S, "102.2"),
         (5 * S, "103")],
        [("mv", 5 * S)],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "rules", "path", "expected"), PATHS, ids=[p[0] for p in PATHS])
def test_moves_on_scripted_paths(
    tmp_path: Path,
    case: str,
    rules: str,
    path: list[tuple[int, str]],
    expected: list[tuple[str, int]],
) -> None:
    assert fired(tmp_path, rules, path) == expected


def test_many_rules_of_one_ring_fire_by_threshold(tmp_path: Path) -> None:
    rules = "".join(
        f"  - {{name: up{n}, notify: desk, move: {{market: BTC-USDT, by: '{n}%', window: 1h,"
        f" direction: up}}}}\n"
        for n in (1, 2, 3, 5)
    ) + rule("by: '2%', window: 1h, direction: down")
    path = [(0, "100"), (1 * M, "102.5"), (2 * M, "104"), (3 * M, "101.9"), (4 * M, "106")]
    assert fired(tmp_path, rules, path) == [
        ("up1", 1 * M), ("up2", 1 * M), ("up3", 2 * M), ("mv", 3 * M), ("up5", 4 * M),
    ]  # fmt: skip


def test_the_series_of_one_market_keep_their_own_windows(tmp_path: Path) -> None:
    rules = rule("by: 2, window: 1m, direction: up") + (
        "  - {name: mark, notify: desk, move: {market: BTC-USDT, source: mark, by: 2,"
        " window: 1m, direction: down}}\n"
    )
    worker = Worker(ruleset(tmp_path, rules))
    # The two sources' ticks alternate, and another venue's (no rule) come between: each ring
    # sees its own series only.
    for n, (last, mark) in enumerate([("100", "200"), ("101", "199"), ("102", "198.5")]):
        worker.tick(n * S, last)
        worker.tick(n * S + 1, mark, source="mark")
        worker.tick(n * S + 2, "90", venue="bybit")
    worker.tick(3 * S, "197", source="mark")
    assert worker.fired == [("mv", 2 * S), ("mark", 3 * S)]


def test_the_message_says_the_move(tmp_path: Path) -> None:
    rules = (
        "  - {name: pump, notify: desk, move: {market: BTC-USDT, by: '3%', window: 5m},"
        " message: '{market} {direction} {pct}% ({change}) in {window}: {from} -> {price}"
        " [{by}] {time}'}\n"
        "  - {name: dump, notify: desk, move: {market: BTC-USDT, by: 100, window: 1h30m}}\n"
    )
    worker = Worker(ruleset(tmp_path, rules))
    worker.tick(1_700_000_000_000, "60000")
    worker.tick(1_700_000_060_000, "61800.5")
    worker.tick(1_700_000_120_000, "61650")
    pump, dump = worker.bound.ticks.resolve(0), worker.bound.ticks.resolve(1)
    assert [name for name, _ in worker.fired] == ["pump", "dump"]
    assert pump[1][pump[2]].render_tick(
        Decimal("61800.5"), Decimal(60000), 1_700_000_060_000, "", ""
    ) == ("BTC-USDT up 3.00% (1800.5) in 5m: 60000 -> 61800.5 [3%] 2023-11-14T22:14:20.000Z")
    assert (
        dump[1][dump[2]]
        .render_tick(Decimal("61800.5"), None, T, "", "")
        .startswith("[dump] BTC-USDT up 3.00% in 1h30m: 60000 -> 61800.5 on okx")
    )


def test_the_window_follows_the_stream_through_its_kind_state(tmp_path: Path) -> None:
    loaded = ruleset(tmp_path, rule("by: '3%', window: 5m, direction: up"))
    book = loaded.books["move"]
    state = KindState()
    first = book.matcher()
    assert isinstance(first, MoveIndex)
    one = first.bind(state)
    assert one.candidates("okx", "BTC-USDT", "last", None, Decimal(100), 0) == []
    assert one.candidates("okx", "BTC-USDT", "last", None, Decimal("99"), 20 * S) == []
    saved = dict(state.fields)
    assert saved == {
        "okx|BTC-USDT|last|300000|c": "1,99,99",
        "okx|BTC-USDT|last|300000|0": "0,100,100",  # the closed bucket 0, in its slot
    }
    # Another worker takes the stream: its matcher restores the window from the saved state.
    second = book.matcher()
    assert isinstance(second, MoveIndex)
    other = second.bind(KindState(saved))
    assert other.candidates("okx", "BTC-USDT", "last", None, Decimal("101.96"), 60 * S) == []
    assert other.candidates("okx", "BTC-USDT", "last", None, Decimal("101.97"), 61 * S) == [0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("by: 3%, window: 5m", "move: missing required key 'market'"),
        ("market: BTC-USDT, window: 5m", "move: missing required key 'by'"),
        ("market: BTC-USDT, by: 1", "move: missing required key 'window'"),
        ("market: BTC-USDT, by: '0%', window: 5m", "move.by: '0' must be greater than zero"),
        ("market: BTC-USDT, by: '2000%', window: 5m",
         "move.by: a percentage of at most 1000%"),
        ("market: BTC-USDT, by: -5, window: 5m", "move.by: '-5' must be greater than zero"),
        ("market: BTC-USDT, by: 'x%', window: 5m", "move.by: 'x' is not a decimal number"),
        ("market: BTC-USDT, by: 1, window: 5", "move.window: needs a unit"),
        ("market: BTC-USDT, by: 1, window: 2d", "move.window: bad duration '2d': at most 1d"),
        ("market: BTC-USDT, by: 1, window: 0s", "move.window: bad duration '0s'"),
        ("market: BTC-USDT, by: 1, window: 5m, direction: sideways",
         "move.direction: 'sideways' is not one of: up, down, either"),
        ("market: BTCUSDT, by: 1, window: 5m, venue: binance, source: mark",
         "move.source: binance streams no 'mark' price"),
    ],
)  # fmt: skip
def test_each_bad_value_is_an_error_at_its_line(tmp_path: Path, spec: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, f"  - name: mv\n    notify: desk\n    move: {{{spec}}}\n")
    (error,) = caught.value.errors
    assert error.startswith(f"{path}:6: {message}")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (", repeat: every", "repeat: every would fire on every tick while moved; use cooldown"),
        (", rearm: 5", "rearm: move rules have no level to re-arm at"),
    ],
)
def test_options_that_do_not_fit_a_move_are_errors(
    tmp_path: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        ruleset(tmp_path, rule("by: 1, window: 5m", extra))
    (error,) = caught.value.errors
    assert message in error


def test_a_move_rule_defaults_to_a_cooldown_of_its_window_and_its_series_is_streamed(
    tmp_path: Path,
) -> None:
    loaded = ruleset(tmp_path, rule("by: 1, window: 15m, source: index"))
    (mv,) = loaded.rules()
    assert isinstance(mv, MoveRule)
    assert mv.repeat.model_dump() == {"kind": "cooldown", "seconds": 900.0}
    assert loaded.markets() == {("okx", "BTC-USDT", "index")}


def test_a_ring_keeps_the_window_and_one_bucket_more() -> None:
    ring = Ring(20 * S)  # buckets of 1 s
    assert ring.observe(Decimal(5), 0) == 2
    assert ring.observe(Decimal(7), 500) == 1
    assert ring.observe(Decimal(6), 900) == 0
    assert ring.extremes() == (Decimal(5), Decimal(7))
    ring.observe(Decimal(6), BUCKETS * S)  # bucket 20: bucket 0 is still in the window
    assert ring.extremes() == (Decimal(5), Decimal(7))
    ring.observe(Decimal(6), (BUCKETS + 1) * S)  # bucket 21: bucket 0 has left it
    assert ring.extremes() == (Decimal(6), Decimal(6))
    restored = Ring(20 * S)
    restored.restore(ring.current(), [text(b) for b in ring.buckets()])
    assert restored.extremes() == ring.extremes()
    restored.restore("1,x,2", ["junk"])  # unreadable: ignored
    assert restored.extremes() == ring.extremes()


def test_a_ring_restores_its_slots_in_the_window_and_an_earlier_versions_text() -> None:
    ring = Ring(20 * S)
    # Slots in any order: with bucket 30 current, buckets 10 to 29 are kept (as observe() keeps
    # them); 3 and 9 are left over from before a pause in the ticks.
    ring.restore("30,6,6", ["12,4,9", "3,1,1", "29,5,5", "9,2,2", "10,8,8"])
    assert [b[0] for b in ring.buckets()] == [10, 12, 29]
    assert ring.extremes() == (Decimal(4), Decimal(9))
    old = Ring(20 * S)
    old.restore("30,6,6", closed="10,8,8;12,4,9;29,5,5")  # all closed buckets in one text
    assert old.buckets() == ring.buckets()
    assert old.current() == ring.current()


def test_a_closing_bucket_writes_its_slot_and_the_current_bucket_only(tmp_path: Path) -> None:
    book = ruleset(tmp_path, rule("by: '50%', window: 20s, direction: up")).books["move"]
    state = KindState()
    bound = book.matcher().bind(state)  # type: ignore[attr-defined]
    name = "okx|BTC-USDT|last|20000"
    for n in range(BUCKETS + 3):  # one tick per 1 s bucket
        bound.candidates("okx", "BTC-USDT", "last", None, Decimal(100 + n), T + n * S)
        written, deleted = state.take()
        closed = {f"{name}|{slot((T + (n - 1) * S) // S)}"} if n else set()
        assert set(written) == {f"{name}|c"} | closed
        assert deleted == []
    assert len(state.fields) == BUCKETS + 1


def test_a_ring_saved_by_an_earlier_version_loads_and_is_saved_again_in_slots(
    tmp_path: Path,
) -> None:
    book = ruleset(tmp_path, rule("by: '3%', window: 20s, direction: up")).books["move"]
    name = "okx|BTC-USDT|last|20000"
    bucket = T // S  # buckets of 1 s
    saved = {f"{name}|c": f"{bucket},100,100", name: f"{bucket - 2},97,97;{bucket - 1},99,99"}
    state = KindState(saved)
    bound = book.matcher().bind(state)  # type: ignore[attr-defined]
    # The window's low (97) counts: 99.91 is 3 % above it.
    assert bound.candidates("okx", "BTC-USDT", "last", None, Decimal("99.91"), T + 1) == [0]
    assert state.fields == {
        f"{name}|c": f"{bucket},99.91,100",
        f"{name}|{slot(bucket - 2)}": f"{bucket - 2},97,97",
        f"{name}|{slot(bucket - 1)}": f"{bucket - 1},99,99",
    }
    assert state.deleted == {name}


@pytest.mark.parametrize("seed", range(6))
def test_the_index_agrees_with_each_rule_asked_alone(tmp_path: Path, seed: int) -> None:
    """On random walks, the index (shared rings, sorted thresholds, the band most ticks take)
    finds exactly the rules each rule's own check finds against its own ring; with odd seeds
    also when its rings are restored from the saved state now and then."""
    rnd = random.Random(seed)
    rules = "".join(
        f"  - {{name: r{n}, notify: desk, move: {{market: BTC-USDT,"
        f" by: '{rnd.choice(['0.5%', '1%', '2%', '5', '20', '60'])}',"
        f" window: {rnd.choice(['2s', '10s', '1m'])},"
        f" direction: {rnd.choice(['up', 'down', 'either'])}}}}}\n"
        for n in range(12)
    )
    book = ruleset(tmp_path, rules).books["move"]
    assert isinstance(book, MoveBook)
    index = book.matcher()
    assert isinstance(index, MoveIndex)
    state = KindState()
    bound = index.bind(state)
    alone = [(rule, Ring(rule.window, offset(f"okx|BTC-USDT|last|{rule.window}"))) for rule in book]
    price, ms = Decimal(1000), 1_700_000_000_000
    for tick in range(1500):
        price = max(Decimal(1), price + Decimal(rnd.randint(-30, 30)) / 10)
        ms += rnd.choice([1, 50, 200, 900, 3000, 20_000])
        if seed % 2 and tick % 37 == 0:
            # Another worker goes on from what was saved: the rings restored from their slots.
            state = KindState(state.fields)
            bound = index.bind(state)
        expected = []
        for position, (rule, ring) in enumerate(alone):
            ring.observe(price, ms)
            if rule.moved(*ring.extremes(), price) is not None:
                expected.append(position)
        assert bound.candidates("okx", "BTC-USDT", "last", None, price, ms) == expected


class PlainWindow:
    """A reference for one ring: every tick's price under the bucket it counts in (a late tick
    in the current one), the saved fields and the window's extremes worked out from them."""

    def __init__(self, window: int, name: str) -> None:
        self.width = window // BUCKETS
        self.offset = offset(name) % self.width  # the ring's bucket grid, shifted
        self.name = name
        self.current = -1
        self.prices: dict[int, list[Decimal]] = {}

    def add(self, price: Decimal, ms: int) -> None:
        self.current = max(self.current, (ms + self.offset) // self.width)
        self.prices.setdefault(self.current, []).append(price)

    def fields(self) -> dict[str, str]:
        """The current bucket in `|c`; each slot holds the last closed bucket of its number."""
        found = {}
        for bucket, seen in sorted(self.prices.items()):
            place = "c" if bucket == self.current else str(bucket % BUCKETS)
            found[f"{self.name}|{place}"] = f"{bucket},{min(seen)},{max(seen)}"
        return found

    def extremes(self) -> tuple[Decimal, Decimal]:
        """The window: the current bucket and the BUCKETS before it."""
        window = range(self.current - BUCKETS, self.current + 1)
        prices = [price for bucket in window for price in self.prices.get(bucket, ())]
        return min(prices), max(prices)


@pytest.mark.parametrize("seed", range(4))
def test_each_batch_saves_what_writing_every_change_would_have(tmp_path: Path, seed: int) -> None:
    """After each batch, take() gives exactly the fields whose text changed since the last
    save, with the texts of a plain window over every tick (byte for byte: "100.10" stays
    "100.10"), however many ticks moved them in the batch; late ticks count in the current
    bucket; the rules fire as each rule alone would; the next holder goes on from the save."""
    rnd = random.Random(seed)
    windows = {2 * S: "2s", 10 * S: "10s", M: "1m"}
    rules = "".join(
        f"  - {{name: r{n}, notify: desk, move: {{market: BTC-USDT,"
        f" by: '{rnd.choice(['0.5%', '1%', '3%', '2', '8'])}',"
        f" window: {windows[window]}, direction: {rnd.choice(['up', 'down', 'either'])}}}}}\n"
        for n, window in enumerate(rnd.choice(list(windows)) for _ in range(9))
    )
    book = ruleset(tmp_path, rules).books["move"]
    index = book.matcher()
    assert isinstance(index, MoveIndex)
    plain = {w: PlainWindow(w, f"okx|BTC-USDT|last|{w}") for w in {r.window for r in book}}
    saved: dict[str, str] = {}
    state = KindState()
    bound = index.bind(state)
    cents, ms = 10_000, T
    for batch in range(150):
        for _ in range(rnd.randint(1, 40)):
            cents = max(100, cents + rnd.randint(-40, 40))
            # The same price written two ways: a saved text keeps the tick's own.
            price = Decimal(f"{cents // 100}.{cents % 100:02d}{rnd.choice(['', '0'])}")
            ms += rnd.choice([-700, -30, 0, 1, 50, 200, 900, 3000, 20_000])
            for window in plain.values():
                window.add(price, ms)
            expected = [
                position
                for position, rule in enumerate(book)
                if rule.moved(*plain[rule.window].extremes(), price) is not None
            ]
            assert bound.candidates("okx", "BTC-USDT", "last", None, price, ms) == expected
        now = {f: v for window in plain.values() for f, v in window.fields().items()}
        assert state.take() == ({f: v for f, v in now.items() if saved.get(f) != v}, [])
        saved.update(now)
        if batch % 9 == 0:  # another worker goes on from what was saved
            state = KindState(saved)
            bound = index.bind(state)


@pytest.mark.parametrize("seed", range(3))
def test_trigger_prices_are_the_plain_arithmetic_to_the_last_digit(seed: int) -> None:
    """A ring's trigger prices (a multiplication by a precomputed share of 100 when it is
    exact) equal low + low * pct / 100 and high - high * pct / 100 as written, however many
    digits the prices and percentages have; a percentage whose share is inexact too."""
    rnd = random.Random(seed)
    hundred = Decimal(100)
    for _ in range(2000):
        pct = Decimal(f"{rnd.randint(1, 10 ** rnd.randint(1, 31))}E-{rnd.randint(0, 30)}")
        amount = Decimal(rnd.randint(1, 999)) if rnd.random() < 0.3 else None
        spec = _Spec(60_000, up_percent=pct, down_percent=pct)
        if amount is not None:
            spec.up_amount = spec.down_amount = amount
        spec.up_share, spec.down_share = _share(pct), _share(pct)
        price = Decimal(f"{rnd.randint(1, 10 ** rnd.randint(1, 30))}E{rnd.randint(-20, 5)}")
        up, down = price + price * pct / hundred, price - price * pct / hundred
        if amount is not None:
            up, down = min(up, price + amount), max(down, price - amount)
        assert (spec.rise(price), spec.fall(price)) == (up, down)
    long = Decimal("1." + "3" * 30)  # 31 digits: its share of 100 is rounded, not used
    assert _share(long) is None
    assert _Spec(1, up_percent=long).rise(Decimal(3)) == 3 + 3 * long / hundred


def test_the_rings_of_a_stream_start_their_buckets_at_different_ticks(tmp_path: Path) -> None:
    """Each ring's bucket grid is shifted by its own offset: ticking 60 markets together every
    300 ms (a tenth of a 1m ring's 3 s bucket), their rings start new buckets spread over the
    steps, not all on one tick (aligned, each step but one would start none)."""
    markets = [f"C{n:02d}-USDT" for n in range(60)]
    rules = "".join(
        f"  - {{name: m{n}, notify: desk, move: {{market: {m}, by: 50%, window: 1m}}}}\n"
        for n, m in enumerate(markets)
    )
    index = ruleset(tmp_path, rules).books["move"].matcher()
    assert isinstance(index, MoveIndex)
    state = KindState()
    bound = index.bind(state)
    started = []  # per step: how many rings started a bucket
    buckets: dict[str, str] = {}
    for step in range(40):
        for market in markets:
            assert bound.candidates("okx", market, "last", None, Decimal(100), T + step * 300) == []
        written, _ = state.take()
        now = {f: v.split(",")[0] for f, v in written.items() if f.endswith("|c")}
        started.append(sum(1 for f, n in now.items() if buckets.get(f, n) != n))
        buckets.update(now)
    assert sum(started) >= 3 * len(markets)  # 12 s: every ring started three or four buckets
    assert max(started) <= len(markets) // 3
