"""Human durations ("30s", "5m", "1h30m", "1d") for cooldowns and other options, bounded."""

from __future__ import annotations

import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Units in descending order, each at most once, so "1h30m" is valid and "30m1h" is not.
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
EXAMPLES = "e.g. 30s, 5m, 1h, 1h30m, 1d"
# The longest duration any option takes unless it says less: a year and a day.
MAX_SECONDS = 366 * 86400
_DIGITS = 9  # a count of more digits is past every bound (and never reaches int())
_SHOWN = 24


def parse_duration(text: str, *, at_most: int = MAX_SECONDS, at_least: int = 1) -> float:
    """Return the seconds of a duration like "1h30m", from `at_least` to `at_most` seconds;
    ValueError says what is wrong."""
    shown = repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "...")
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(
            f"bad duration {shown}: expected whole numbers with units d, h, m, s "
            f"in that order ({EXAMPLES})"
        )
    counts = [(count, unit) for count, unit in zip(match.groups(), _UNITS.values(), strict=True)]
    if any(count is not None and len(count.lstrip("0")) > _DIGITS for count, _ in counts):
        raise ValueError(f"bad duration {shown}: at most {duration_text(at_most)}")
    seconds = sum(int(count) * unit for count, unit in counts if count is not None)
    if seconds <= 0:
        raise ValueError(f"bad duration {shown}: must be longer than zero")
    if seconds < at_least:
        raise ValueError(f"bad duration {shown}: at least {duration_text(at_least)}")
    if seconds > at_most:
        raise ValueError(f"bad duration {shown}: at most {duration_text(at_most)}")
    return float(seconds)


def duration_text(seconds: int) -> str:
    """Return whole seconds as the shortest duration text, e.g. 5400 -> "1h30m"."""
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
