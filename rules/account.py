"""What the kinds reading the account's own events (fills, order updates) share: their filters
by venue, account, market and side, read from a rule file and checked against an event."""

from __future__ import annotations

from typing import Any

from rules.base import ACCOUNT, ACCOUNT_RULE, MARKET, MARKET_RULE, VENUE, VENUE_RULE, Rule
from rules.reader import Entry, Reader
from watcher.events import Fill, OrderUpdate, Side

SIDES = ("buy", "sell")
FILTERS = ("venue", "account", "market", "side")


class AccountRule(Rule):
    """A rule on the account's events; each filter given must match (None matches anything)."""

    venue: str | None = None
    account: str | None = None
    market: str | None = None
    side: Side | None = None

    def venues(self) -> frozenset[str]:
        """Return the venue filter's venue (none when the rule matches every venue)."""
        return frozenset() if self.venue is None else frozenset((self.venue,))

    def passes(self, event: Fill | OrderUpdate) -> bool:
        """Return whether the event passes the venue, account, market and side filters."""
        return (
            (self.venue is None or event.venue == self.venue)
            and (self.account is None or event.account == self.account)
            and (self.market is None or event.market == self.market)
            and (self.side is None or event.side == self.side)
        )


def read_filters(
    reader: Reader, entries: dict[str, Entry], kind: str, sides: tuple[str, ...] = SIDES
) -> dict[str, Any]:
    """Read the venue, account, market and side filters of `kind: {...}` (errors to reader);
    a side is one of `sides` (an order's buy or sell, unless the kind says)."""
    fields: dict[str, Any] = {}
    for key, pattern, rule in (("venue", VENUE, VENUE_RULE), ("account", ACCOUNT, ACCOUNT_RULE)):
        if key in entries:
            fields[key] = reader.string(entries[key][1], f"{kind}.{key}", pattern, rule)
    if "market" in entries:
        # As the venue spells it; with no venue (any venue), as one configured venue does.
        node, venue = entries["market"][1], fields.get("venue")
        fields["market"] = (
            reader.string(node, f"{kind}.market", MARKET, MARKET_RULE)
            if "venue" in entries and venue is None
            else reader.market(node, f"{kind}.market", venue)
        )
    if "side" in entries:
        fields["side"] = reader.choice(entries["side"][1], f"{kind}.side", sides)
    return fields
