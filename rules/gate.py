"""Whether a rule with options (rules/timing.py) may fire now: hold, rearm, expires and for.

A kind's matcher asks its Gate once per event a gated rule concerns (a tick of its series, an
update of its position), telling it what the kind's condition says about that event:
- fires: the condition fires (a crossing, a price above its level, a ratio below its level);
- holds: it still holds, for a hold that started on an earlier event (a crossing up holds
  while the price stays at or above the level; a level condition holds while it fires);
- rearmed: the value is back beyond the level by the rule's `rearm` distance.
The Gate keeps its timers in the stream's kind state (rules.kinds.KindState: saved with each
batch, so they follow the stream to the next worker), by rule id: `<id>|h` the time a hold
started, `<id>|d` a re-armable rule that fired (disarmed), `<id>|f` when the rule was first
evaluated (for `for:`). The emulated order kinds (rules/emulated.py) ask expired() by rule id
and admit() a hold alone per trigger: by rule id, or `<id>.<leg>` for each leg of an OCO and
each exit of a bracket.
"""

from __future__ import annotations

from typing import Protocol

from rules.timing import Options


class State(Protocol):
    """String fields that persist with the stream (rules.kinds.KindState)."""

    def get(self, field: str) -> str | None: ...

    def set(self, field: str, value: str) -> None: ...

    def delete(self, field: str) -> None: ...


class Gate:
    """Admits firings of rules with options, keeping their timers in `state`."""

    __slots__ = ("state",)

    def __init__(self, state: State | None = None) -> None:
        if state is None:
            from rules.kinds import KindState  # the kinds registry imports the books: late

            state = KindState()
        self.state = state

    def expired(self, rule_id: str, options: Options, ms: int) -> bool:
        """Return whether the rule can never fire again at or after `ms` (expires / for)."""
        if options.expires_ms is not None and ms >= options.expires_ms:
            return True
        if options.for_ms is None:
            return False
        field = rule_id + "|f"
        first = self.state.get(field)
        if first is None:
            self.state.set(field, str(ms))
            return False
        return ms >= int(first) + options.for_ms

    def admit(
        self,
        rule_id: str,
        options: Options,
        ms: int,
        fires: bool,
        holds: bool = False,
        rearmed: bool = False,
    ) -> bool:
        """Return whether the rule fires on this event, updating its timers (see the module)."""
        if self.expired(rule_id, options, ms):
            return False
        state = self.state
        if options.rearm is not None:
            disarmed = rule_id + "|d"
            if state.get(disarmed) is not None:
                if rearmed:
                    state.delete(disarmed)  # armed again: the next firing counts
                return False
        if options.hold_ms is not None:
            held = rule_id + "|h"
            since = state.get(held)
            if since is None:
                if fires:
                    state.set(held, str(ms))
                return False
            if not holds:
                state.delete(held)
                return False
            if ms - int(since) < options.hold_ms:
                return False
            state.delete(held)  # fired: a next firing needs a new hold
        elif not fires:
            return False
        if options.rearm is not None:
            state.set(rule_id + "|d", "1")
        return True
