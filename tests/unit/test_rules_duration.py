"""Durations for cooldowns and options: parsed, and bounded (never a traceback)."""

from __future__ import annotations

import pytest

from rules.duration import MAX_SECONDS, duration_text, parse_duration


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
        ("367d", "at most 366d"),
        ("9" * 400 + "s", r"bad duration '9{24}\.\.\.': at most 366d"),  # not 400 digits echoed
        ("0000000001s", None),  # leading zeros are not digits of size: 1s
    ],
)
def test_bad_duration_says_why(text: str, expected: str | None) -> None:
    if expected is None:
        assert parse_duration(text) == 1
        return
    with pytest.raises(ValueError, match=expected):
        parse_duration(text)


def test_an_option_may_bound_its_durations_tighter() -> None:
    assert parse_duration("24h", at_most=86400, at_least=1) == 86400
    with pytest.raises(ValueError, match="bad duration '1d1s': at most 1d"):
        parse_duration("1d1s", at_most=86400)
    with pytest.raises(ValueError, match="bad duration '30s': at least 1m"):
        parse_duration("30s", at_least=60)
    assert parse_duration("366d") == MAX_SECONDS


@pytest.mark.parametrize(
    ("seconds", "text"), [(1, "1s"), (90, "1m30s"), (5400, "1h30m"), (86400, "1d"), (0, "0s")]
)
def test_duration_text(seconds: int, text: str) -> None:
    assert duration_text(seconds) == text
    if seconds:
        assert parse_duration(text) == seconds
