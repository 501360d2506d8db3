"""`klaxon replay RULES... --from FILE`: what the rules would have fired over a path, and when.

FILE is a recording made by `klaxon record` (JSON lines: the stream entries as Redis held them,
replayed by entry id) or a price path in CSV, one tick per row:

    ts,market,price,venue,source          # the header is optional; venue and source too
    2026-01-05T09:00:00Z,BTC-USDT,64950   # ts: ISO 8601 (UTC unless it says) or epoch ms
    1767603605000,BTC-USDT,65010.5

A row without a venue is on the one venue KLAXON_ACCOUNTS configures (as a rule is); source
defaults to `last`. Rows go in time order. Each row becomes a ticks entry as the watcher writes
it, and everything runs through workers/replay.py: the workers' own evaluation and claim
semantics, on the path's clock. Nothing is sent: channels are not even built (their variables
need not be set, as for `klaxon check`).
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from klaxon.check import CheckEnv
from klaxon.settings import CheckSettings, load
from rules.base import MARKET, MARKET_RULE, VENUE, VENUE_RULE
from rules.load import RuleSet, load_rules
from rules.reader import missing_venue
from watcher import keys
from watcher.errors import ConfigError
from watcher.events import encode_ticks
from workers.replay import Entry, Fired, Replay

COLUMNS = ("ts", "market", "price", "venue", "source")
REQUIRED = ("ts", "market", "price")
SOURCE = re.compile(r"[a-z][a-z_]{0,15}")
PRICE = re.compile(r"-?[0-9]{1,20}(?:\.[0-9]{1,20})?")  # as exchanges write prices: no exponent
TICKS = keys.ticks_stream(0)  # the stream a CSV path's rows are replayed as
RECORD = "klaxon-record"  # the `klaxon` value of a recording's header line
RECORD_FORMAT = 1
MAX_ERRORS = 20  # a file's errors listed before "... and N more"


def read_entries(path: Path, venues: Sequence[str]) -> list[Entry]:
    """Read a recording or a CSV price path as stream entries, in replay order (ConfigError
    with every file:line problem)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    if first.lstrip().startswith("{"):
        return read_recording(str(path), text)
    return read_path(str(path), text, venues)


class _Errors:
    """A file's problems as `file:line: message`, the first MAX_ERRORS of them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.more = 0

    def add(self, line: int, message: str) -> None:
        if len(self.lines) < MAX_ERRORS:
            self.lines.append(f"{self.name}:{line}: {message}")
        else:
            self.more += 1

    def raise_any(self) -> None:
        if self.lines:
            more = [f"{self.name}: ... and {self.more} more"] if self.more else []
            raise ConfigError(f"{self.name}: not a replayable file", errors=self.lines + more)


def read_path(name: str, text: str, venues: Sequence[str]) -> list[Entry]:
    """Read a CSV price path (`ts,market,price[,venue,source]`) as ticks entries."""
    errors = _Errors(name)
    columns: tuple[str, ...] | None = None
    entries: list[Entry] = []
    last_ms, seq = -1, 0
    for number, cells in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [cell.strip() for cell in cells]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if columns is None:
            columns = _columns(cells, number, errors)
            if columns is None:
                break  # every row would be misread: the header's error says why
            if cells[0] == "ts":
                continue
        if len(cells) != len(columns):
            errors.add(number, f"expected {len(columns)} values ({','.join(columns)})")
            continue
        row = dict(zip(columns, cells, strict=True))
        tick = _tick(row, number, venues, errors)
        if tick is None:
            continue
        ms, venue, market, source, price = tick
        if ms < last_ms:
            errors.add(number, "ts: goes back in time; rows go in time order")
            continue
        seq = seq + 1 if ms == last_ms else 0
        last_ms = ms
        fields = {
            b"k": b"ticks",
            b"v": venue.encode(),
            b"d": encode_ticks([(market, source, price, "", "", ms)]),
            b"t": str(ms).encode(),
        }
        entries.append((TICKS, f"{ms}-{seq}", fields))
    errors.raise_any()
    return entries


def _columns(cells: list[str], number: int, errors: _Errors) -> tuple[str, ...] | None:
    """Return the columns a header names, or the positional ones of a first data row."""
    if cells[0] != "ts":
        if not 3 <= len(cells) <= len(COLUMNS):
            errors.add(number, f"expected a header or 3 to 5 values ({','.join(COLUMNS)})")
            return None
        return COLUMNS[: len(cells)]
    unknown = [c for c in cells if c not in COLUMNS]
    twice = sorted({c for c in cells if cells.count(c) > 1})
    missing = [c for c in REQUIRED if c not in cells]
    if unknown or twice or missing:
        problems = (
            [f"unknown column {c!r}" for c in unknown]
            + [f"column {c!r} twice" for c in twice]
            + [f"no {c!r} column" for c in missing]
        )
        errors.add(number, f"header: {'; '.join(problems)} (columns: {', '.join(COLUMNS)})")
        return None
    return tuple(cells)


def _tick(
    row: dict[str, str], number: int, venues: Sequence[str], errors: _Errors
) -> tuple[int, str, str, str, str] | None:
    """Return (ms, venue, market, source, exact price text) of a row, or None after errors."""
    found = len(errors.lines) + errors.more
    ms = _ms(row["ts"])
    if ms is None:
        errors.add(number, f"ts: {row['ts']!r} is not ISO 8601 or epoch milliseconds")
    market = row["market"]
    if not MARKET.fullmatch(market):
        errors.add(number, f"market: {market!r} is not {MARKET_RULE}")
    price = row["price"]
    if not PRICE.fullmatch(price):
        errors.add(number, f"price: {price!r} is not a decimal number such as 65000.5")
    venue = row.get("venue") or ""
    if not venue:
        if len(venues) == 1:
            venue = venues[0]
        else:
            errors.add(number, f"venue: none given, and {missing_venue(venues)}")
    elif not VENUE.fullmatch(venue):
        errors.add(number, f"venue: {venue!r} is not {VENUE_RULE}")
    source = row.get("source") or "last"
    if not SOURCE.fullmatch(source):
        errors.add(number, f"source: {source!r} is not a price source such as last or mark")
    if ms is None or len(errors.lines) + errors.more > found:
        return None
    return ms, venue, market, source, price


def _ms(text: str) -> int | None:
    """Return epoch milliseconds from epoch ms digits or ISO 8601 (UTC when no offset)."""
    if text.isdigit():
        return int(text)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return round(at.timestamp() * 1000)


def read_recording(name: str, text: str) -> list[Entry]:
    """Read a `klaxon record` file: its entries sorted by entry id (time, then sequence)."""
    errors = _Errors(name)
    found: list[tuple[int, int, int, Entry]] = []  # (ms, seq, order, entry)
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            errors.add(number, "not a JSON object")
            continue
        if not isinstance(item, dict):
            errors.add(number, "not a JSON object")
        elif "klaxon" in item:
            if item.get("klaxon") != RECORD or item.get("format") != RECORD_FORMAT:
                errors.add(number, f"not a klaxon recording of format {RECORD_FORMAT}")
        else:
            entry = _recorded(item)
            if entry is None:
                errors.add(number, 'expected {"stream": ..., "id": "<ms>-<seq>", "fields": {...}}')
            else:
                ms, _, seq = entry[1].partition("-")
                found.append((int(ms), int(seq), len(found), entry))
    errors.raise_any()
    found.sort(key=lambda item: item[:3])
    return [entry for *_, entry in found]


def _recorded(item: dict[str, object]) -> Entry | None:
    stream, entry_id, fields = item.get("stream"), item.get("id"), item.get("fields")
    if not (isinstance(stream, str) and isinstance(entry_id, str) and isinstance(fields, dict)):
        return None
    ms, dash, seq = entry_id.partition("-")
    if not (ms.isdigit() and dash and seq.isdigit()):
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()):
        return None
    return stream, entry_id, {k.encode(): v.encode() for k, v in fields.items()}


def replay_entries(ruleset: RuleSet, entries: Sequence[Entry]) -> tuple[list[Fired], Replay]:
    """Replay entries through the rules; return what fired, and the replay (its counts)."""
    engine = Replay(ruleset)
    return engine.run(entries), engine


def replay(rule_paths: list[Path], source: Path) -> int:
    """Print each firing of the rules over the path in `source` (time, rule, channels,
    message), then a summary on stderr."""
    venues = load(CheckSettings).venues()
    ruleset = load_rules(rule_paths, CheckEnv(), venues)
    entries = read_entries(source, venues)
    fired, engine = replay_entries(ruleset, entries)
    for firing in fired:
        print(firing.line())
    summary = (
        f"replayed {engine.entries} entries ({engine.evaluated} ticks and events) "
        f"from {source}: {len(fired)} firings"
    )
    if engine.undecodable:
        summary += f"; {engine.undecodable} undecodable entries skipped"
    print(summary, file=sys.stderr)
    return 0
