"""Durations for cooldowns."""

from __future__ import annotations

import pytest

from rules.duration import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), ("2d3h4m5s", 183845)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", "expected whole numbers with units d, h, m, s"),
        ("10x", "bad duration '10x'"),
        ("30m1h", "in that order"),
        ("1.5h", "expected whole numbers"),
        ("", "bad duration ''"),
        ("0s", "must be longer than zero"),
        ("-5m", "bad duration '-5m'"),
    ],
)
def test_bad_duration_says_why(text: str, expected: str) -> None:
    with pytest.raises(ValueError, match=expected):
        parse_duration(text)
