"""Human durations ("30s", "5m", "1h30m", "1d") for cooldowns."""

from __future__ import annotations

import re

_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# Units in descending order, each at most once, so "1h30m" is valid and "30m1h" is not.
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
EXAMPLES = "e.g. 30s, 5m, 1h, 1h30m, 1d"


def parse_duration(text: str) -> float:
    """Return the seconds of a duration like "1h30m"; ValueError says what is wrong."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise ValueError(
            f"bad duration {text!r}: expected whole numbers with units d, h, m, s "
            f"in that order ({EXAMPLES})"
        )
    seconds = sum(
        int(count) * unit
        for count, unit in zip(match.groups(), _UNITS.values(), strict=True)
        if count is not None
    )
    if seconds <= 0:
        raise ValueError(f"bad duration {text!r}: must be longer than zero")
    return float(seconds)
