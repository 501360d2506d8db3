"""Fill rules: fire on executions of the account's orders, optionally filtered."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml

from rules.account import FILTERS, AccountRule, read_filters
from rules.base import Cooldown, Every, Once, text, utc_text
from rules.reader import NULL, Reader
from rules.scan import ScanBook
from watcher.events import Event, Fill


class FillRule(AccountRule):
    """Fire on a fill that matches every filter given (None matches anything)."""

    KIND: ClassVar[str] = "fill"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "account", "market", "side", "size", "price", "fee", "fee_ccy",
            "trade_id", "order_id", "client_order_id", "liquidity", "time", "late",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = (
        "[{rule}] {venue}/{account} {side} {size} {market} @ {price} (trade {trade_id})"
    )
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    def check(self, fill: Fill) -> bool:
        """Return whether the fill passes every filter of this rule."""
        return self.passes(fill)

    def matches(self, event: Event) -> bool:
        """Return whether `event` is a fill that passes every filter."""
        return isinstance(event, Fill) and self.check(event)

    def subject(self, event: Event) -> str | None:
        """Return one trade of one account: a backfilled duplicate of a fill claims the same."""
        if not isinstance(event, Fill):
            return None
        # Two accounts on both sides of one trade share its trade id: the account is part of it.
        return f"{self.id}:{event.venue}:{event.account}:{event.market}:{event.trade_id}"

    def render_event(self, event: Event) -> str:
        """Return the message for a fill."""
        if not isinstance(event, Fill):
            raise TypeError(f"fill rule {self.name!r} rendered for a {event.kind} event")
        return self.render(self.fields(event))

    def fields(self, fill: Fill) -> dict[str, str]:
        """Return every placeholder's value for one firing (absent values are "")."""
        return {
            "rule": self.name,
            "venue": fill.venue,
            "account": fill.account,
            "market": fill.market,
            "side": fill.side,
            "size": text(fill.size),
            "price": text(fill.price),
            "fee": text(fill.fee),
            "fee_ccy": fill.fee_ccy,
            "trade_id": fill.trade_id,
            "order_id": fill.order_id,
            "client_order_id": fill.client_order_id,
            "liquidity": fill.liquidity,
            "time": utc_text(fill.at),
            # "late": fetched over REST after a reconnect, not pushed live; else "".
            "late": "late" if fill.late else "",
        }

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `fill: {venue?, account?, market?, side?}`; `fill: {}` or `fill:` match all."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return {}
        entries = reader.mapping(node, "fill", FILTERS)
        if entries is None:
            return None
        errors = len(reader.errors)
        fields = read_filters(reader, entries, "fill")
        return fields if len(reader.errors) == errors else None


class FillBook(ScanBook[FillRule]):
    """Every fill rule of a RuleSet, asked in turn about each fill."""
