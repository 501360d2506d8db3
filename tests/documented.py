"""Documented exchange frames, as stored in tests/data/<venue>/ (sources in its SOURCES.json)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parent / "data"


class Documented:
    """One venue's documented frames."""

    def __init__(self, venue: str) -> None:
        self.folder = DATA / venue

    def frame(self, name: str) -> bytes:
        """Return a fixture's bytes exactly as stored."""
        return (self.folder / name).read_bytes()

    def doc(self, name: str) -> dict[str, Any]:
        """Return a fixture decoded (to derive a variant of a documented frame)."""
        decoded: dict[str, Any] = orjson.loads(self.frame(name))
        return decoded


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int, ms: int = 0) -> datetime:
    """An aware UTC time, written out independently of the code under test."""
    return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)
