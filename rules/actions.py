"""What a rule declares its firings do: plain data here, carried out by workers/actions.py.

A rule's actions() lists them (every rule today: notify each of its channels). A new kind of
action (placing or cancelling an order) is a new frozen dataclass here plus its handler in
workers/actions.py; the evaluator hands a won claim's actions over without knowing their types.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Notify:
    """Send the firing's message to one channel (by name) of the rule files."""

    channel: str


Action = Notify
