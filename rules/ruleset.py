"""The loaded rules of one or more files: what a watcher subscribes to and a worker evaluates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from rules.base import Channel, Rule
from rules.fill import FillRule
from rules.price import PriceRule


@dataclass(frozen=True)
class RuleSet:
    """Channels and compiled rules of a set of files, with a version over their bytes."""

    channels: Mapping[str, Channel]
    price_rules: tuple[PriceRule, ...]
    fill_rules: tuple[FillRule, ...]
    version: str

    def markets(self) -> set[tuple[str, str, str]]:
        """Return the (venue, market, source) price series the price rules need."""
        return {(rule.venue, rule.market, rule.source) for rule in self.price_rules}

    def rules(self) -> tuple[Rule, ...]:
        """Return every rule of every kind."""
        return (*self.price_rules, *self.fill_rules)

    @cached_property
    def by_id(self) -> Mapping[str, Rule]:
        """Return every rule by its id (built on first use)."""
        return MappingProxyType({rule.id: rule for rule in self.rules()})
