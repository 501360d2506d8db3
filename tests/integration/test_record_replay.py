"""`klaxon record` on a real Redis the real publisher writes to, then `klaxon replay` of the file:
the recording holds the streams' entries as Redis held them, and replays to the firings the
workers would have made."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
import redis

from klaxon.cli import main
from tests.integration.test_stream import entries
from tests.waiting import wait_until
from watcher import keys
from watcher.events import Fill, TickRow
from watcher.publish import Publisher
from watcher.venues import Parsed

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: btc-up
    price: {market: BTC-USDT, crosses_up: "65000"}
    notify: [desk]
    message: "{market} {op} {level} at {price}"
  - name: eth-low
    price: {market: ETH-USDT, below: "3000"}
    notify: [desk]
    cooldown: 10m
    message: "{market} {op} {level} at {price}"
  - name: fills
    fill: {}
    notify: [desk]
    message: "{side} {size} {market} @ {price} ({trade_id})"
"""
T0 = 1767603600000  # 2026-01-05T09:00:00Z


def _fill(trade_id: str, ms: int) -> Fill:
    return Fill(
        venue="okx",
        account="main",
        market="BTC-USDT",
        side="buy",
        price=Decimal("65010.5"),
        size=Decimal("0.010"),
        trade_id=trade_id,
        order_id="o-1",
        at=datetime.fromtimestamp(ms / 1000, UTC),
    )


def _publish(publisher: Publisher) -> None:
    """Write what a watcher would: ticks over two partitions' markets, and fills."""

    def tick(market: str, price: str, ms: int) -> TickRow:
        return (market, "last", price, "", "", ms)

    batches = [
        Parsed([tick("BTC-USDT", "64990", T0), tick("ETH-USDT", "3001", T0)], []),
        Parsed([tick("BTC-USDT", "65010.5", T0 + 1000)], [_fill("t-1", T0 + 1500)]),
        Parsed([tick("ETH-USDT", "2999.5", T0 + 2000)], []),
        Parsed([tick("ETH-USDT", "2998", T0 + 3000)], [_fill("t-2", T0 + 3500)]),
        Parsed([], [_fill("t-1", T0 + 1500)]),  # the same trade again: written once
    ]
    r = publisher.redis
    for batch in batches:
        publisher.publish([batch])
        # A recording is replayed in entry id order; entries of two streams written in the same
        # millisecond tie, so each batch gets a millisecond of its own.
        _next_ms(r)


def _next_ms(r: redis.Redis) -> None:
    """Return once Redis's clock is past the millisecond it reads now."""
    now = _redis_ms(r)
    wait_until(lambda: _redis_ms(r) > now, what="Redis's clock to move on")


def _redis_ms(r: redis.Redis) -> int:
    seconds, micros = r.time()
    return seconds * 1000 + micros // 1000


FIRED = [
    "2026-01-05T09:00:01.000Z btc-up -> desk: BTC-USDT crossed above 65000 at 65010.5",
    "2026-01-05T09:00:01.500Z fills -> desk: buy 0.010 BTC-USDT @ 65010.5 (t-1)",
    "2026-01-05T09:00:02.000Z eth-low -> desk: ETH-USDT below 3000 at 2999.5",
    "2026-01-05T09:00:03.500Z fills -> desk: buy 0.010 BTC-USDT @ 65010.5 (t-2)",
]


@pytest.fixture
def rules(tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KLAXON_REDIS_URL", redis_url)
    monkeypatch.setenv("KLAXON_PARTITIONS", "4")
    monkeypatch.delenv("KLAXON_ACCOUNTS", raising=False)
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    return path


def _lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_a_backlog_recording_replays_to_the_workers_firings(
    rules: Path, r: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publisher = Publisher(r, "okx", "main", 4)
    publisher.ensure_groups()
    _publish(publisher)
    out = tmp_path / "rec.jsonl"
    assert main(["record", "--out", str(out), "--backlog", "--seconds", "0"]) == 0
    assert capsys.readouterr().out == f"recorded 7 entries from 5 streams to {out}\n"
    header, *recorded = _lines(out)
    assert header == {"klaxon": "klaxon-record", "format": 1, "streams": publisher.streams()}
    held = {
        (stream, entry_id.decode()): {k.decode(): v.decode() for k, v in fields.items()}
        for stream in publisher.streams()
        for entry_id, fields in entries(r, stream)
    }
    assert {(e["stream"], e["id"]): e["fields"] for e in recorded} == held
    assert main(["replay", str(rules), "--from", str(out)]) == 0
    printed, summary = capsys.readouterr()
    assert printed.splitlines() == FIRED
    assert summary == f"replayed 7 entries (7 ticks and events) from {out}: 4 firings\n"


def test_a_live_recording_takes_what_comes_after_it_starts(
    rules: Path, r: redis.Redis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    publisher = Publisher(r, "okx", "main", 4)
    publisher.ensure_groups()
    publisher.publish([Parsed([("BTC-USDT", "last", "70000", "", "", T0 - 1000)], [])])  # before
    out = tmp_path / "live.jsonl"
    codes: list[int] = []
    recorder = threading.Thread(
        target=lambda: codes.append(main(["record", "--out", str(out), "--count", "7"]))
    )
    recorder.start()
    try:
        wait_until(lambda: out.exists() and out.read_bytes().endswith(b"\n"), 10, "the header")
        _publish(publisher)
    finally:
        recorder.join(10)
    assert codes == [0]
    assert len(_lines(out)) == 8
    assert main(["replay", str(rules), "--from", str(out)]) == 0
    # Without the 70000 tick before it, the first BTC tick has no previous price to cross from.
    assert capsys.readouterr().out.splitlines()[-4:] == FIRED
    # the consumer group was not touched: the workers still have every entry to evaluate
    for stream in publisher.streams():
        assert r.xpending(stream, keys.GROUP)["pending"] == 0
        groups = r.xinfo_groups(stream)
        assert [g["last-delivered-id"] for g in groups] == [b"0-0"]
