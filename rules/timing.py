"""When a rule may fire, on top of its kind's condition: the options every kind shares.

- `hold: 5s`: the condition must stay true that long (anti-wick); the rule fires on the first
  event at or after the hold elapsed, if the condition held on every event in between.
- `rearm: 100` (or `rearm: 0.5%`): a once-rule fires again after its value went back beyond
  its level by that much (hysteresis), once per arming.
- `expires: 2026-12-31T00:00Z`: the rule never fires at or after that time.
- `for: 7d`: the rule never fires once that long has passed since the workers first evaluated
  it (by rule id: editing the rule starts a new period, reloading it unchanged does not).
- `quiet: "22:00-07:00 UTC"`: no notification in those hours; a firing then is delivered when
  they end (the message's {time} says when it happened). Orders and state are not held back.
Times are the exchange's (a tick's or event's time); quiet hours are the delivery's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict


class Quiet(BaseModel):
    """Daily quiet hours: from `start` to `end` (minutes after midnight) in time zone `zone`;
    a range past midnight (22:00-07:00) ends the next day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int
    end: int
    zone: str = "UTC"

    def text(self) -> str:
        """Return the hours as written in a rule file, e.g. 22:00-07:00 UTC."""
        return f"{_hhmm(self.start)}-{_hhmm(self.end)} {self.zone}"

    def until(self, ms: int) -> int | None:
        """Return when the quiet hours around time `ms` (epoch ms) end, or None if it is not
        within them."""
        tz = ZoneInfo(self.zone)  # ZoneInfo keeps one instance per zone: no parse per call
        local = datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)
        minute = local.hour * 60 + local.minute
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.start < self.end:
            if not self.start <= minute < self.end:
                return None
            end = midnight + timedelta(minutes=self.end)
        elif minute >= self.start:  # e.g. 23:10 in 22:00-07:00: ends tomorrow
            end = midnight + timedelta(days=1, minutes=self.end)
        elif minute < self.end:  # e.g. 03:10 in 22:00-07:00: ends today
            end = midnight + timedelta(minutes=self.end)
        else:
            return None
        # Wall-clock arithmetic in the zone: re-localise so a DST change lands on the wall time.
        wall = end.replace(tzinfo=None).replace(tzinfo=tz)
        return int(wall.timestamp() * 1000)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class Rearm(BaseModel):
    """How far the value must go back beyond the level to re-arm: an amount, or a percentage
    of the level."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Decimal
    percent: bool = False

    def distance(self, level: Decimal) -> Decimal:
        """Return the distance from `level` that re-arms."""
        return abs(level) * self.amount / 100 if self.percent else self.amount

    def text(self) -> str:
        """Return the value as written, e.g. 100 or 0.5%."""
        return format(self.amount, "f") + ("%" if self.percent else "")


class Options(BaseModel):
    """A rule's options (rules/options.py reads them); the defaults change nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hold_ms: int | None = None
    rearm: Rearm | None = None
    expires_ms: int | None = None
    for_ms: int | None = None
    quiet: Quiet | None = None

    @property
    def gated(self) -> bool:
        """Whether firing depends on these options (quiet only delays delivery)."""
        return (
            self.hold_ms is not None
            or self.rearm is not None
            or self.expires_ms is not None
            or self.for_ms is not None
        )

    def is_default(self) -> bool:
        """Whether no option is set."""
        return self == NO_OPTIONS


NO_OPTIONS = Options()
