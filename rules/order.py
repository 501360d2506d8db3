"""Order rules: fire when one of the account's orders changes state, optionally filtered.

States and order types are the canonical OrderUpdate values (watcher.events.ORDER_STATES and
ORDER_TYPES: OKX's own words, `live`, `partially_filled`, `filled`, `canceled`, ..., and a few of
klaxon's where OKX has none); each venue module maps its venue's words to them, so a rule reads
the same on every venue.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

from rules.account import FILTERS, AccountRule, read_filters
from rules.base import Cooldown, Every, Once, text, utc_text
from rules.codes import EMPTY_LIST, LISTED_TWICE
from rules.reader import NULL, Reader
from rules.scan import ScanBook
from watcher import events
from watcher.events import Event, OrderUpdate

# The words a rule accepts are the canonical ones, in their order (a rule's id sorts its states
# by it: new words go last, so that existing rules keep their ids).
STATES: tuple[str, ...] = events.ORDER_STATES
ORDER_TYPES: tuple[str, ...] = events.ORDER_TYPES
CLIENT_ID_PREFIX = re.compile(r"[A-Za-z0-9]{1,32}")
CLIENT_ID_PREFIX_RULE = "1 to 32 letters and digits (client order ids are alphanumeric)"
KEYS = (*FILTERS, "order_type", "client_id_prefix", "states")


class OrderRule(AccountRule):
    """Fire on an order update that matches every filter given (None matches anything)."""

    KIND: ClassVar[str] = "order"
    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "account", "market", "side", "order_type", "state", "size",
            "filled", "price", "avg_price", "order_id", "client_order_id", "code", "reason",
            "time",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = (
        "[{rule}] {venue}/{account} {order_type} {side} {size} {market} {state}"
        " (filled {filled}, order {order_id})"
    )
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    order_type: str | None = None
    client_id_prefix: str | None = None
    states: tuple[str, ...] | None = None

    def check(self, update: OrderUpdate) -> bool:
        """Return whether the update passes every filter of this rule."""
        return (
            self.passes(update)
            and (self.order_type is None or update.order_type == self.order_type)
            and (
                self.client_id_prefix is None
                or update.client_order_id.startswith(self.client_id_prefix)
            )
            and (self.states is None or update.state in self.states)
        )

    def matches(self, event: Event) -> bool:
        """Return whether `event` is an order update that passes every filter."""
        return isinstance(event, OrderUpdate) and self.check(event)

    def subject(self, event: Event) -> str | None:
        """Return one update of one order: the same update delivered twice claims the same."""
        if not isinstance(event, OrderUpdate):
            return None
        ms = int(event.at.timestamp() * 1000)
        return (
            f"{self.id}:{event.venue}:{event.account}:{event.market}:{event.order_id}"
            f":{event.state}:{text(event.filled)}:{ms}"
        )

    def render_event(self, event: Event) -> str:
        """Return the message for an order update."""
        if not isinstance(event, OrderUpdate):
            raise TypeError(f"order rule {self.name!r} rendered for a {event.kind} event")
        return self.render(self.fields(event))

    def fields(self, update: OrderUpdate) -> dict[str, str]:
        """Return every placeholder's value for one firing (absent values are "")."""
        return {
            "rule": self.name,
            "venue": update.venue,
            "account": update.account,
            "market": update.market,
            "side": update.side,
            "order_type": update.order_type,
            "state": update.state,
            "size": text(update.size),
            "filled": text(update.filled),
            "price": text(update.price),
            "avg_price": text(update.avg_price),
            "order_id": update.order_id,
            "client_order_id": update.client_order_id,
            "code": update.code,
            "reason": update.message,
            "time": utc_text(update.at),
        }

    @classmethod
    def parse_spec(cls, reader: Reader, node: yaml.Node) -> dict[str, Any] | None:
        """Read `order: {venue?, account?, market?, side?, order_type?, client_id_prefix?,
        states?}`; `order: {}` or `order:` match every update."""
        if isinstance(node, yaml.ScalarNode) and node.tag == NULL:
            return {}
        entries = reader.mapping(node, "order", KEYS)
        if entries is None:
            return None
        errors = len(reader.errors)
        fields = read_filters(reader, entries, "order")
        if "client_id_prefix" in entries:
            node = entries["client_id_prefix"][1]
            fields["client_id_prefix"] = reader.string(
                node, "order.client_id_prefix", CLIENT_ID_PREFIX, CLIENT_ID_PREFIX_RULE
            )
        if "order_type" in entries:
            node = entries["order_type"][1]
            fields["order_type"] = reader.choice(node, "order.order_type", ORDER_TYPES)
        if "states" in entries:
            fields["states"] = _states(reader, entries["states"][1])
        return fields if len(reader.errors) == errors else None


def _states(reader: Reader, node: yaml.Node) -> tuple[str, ...] | None:
    """Read `states:` as one state or a non-empty list of distinct states."""
    items = [node] if isinstance(node, yaml.ScalarNode) else reader.sequence(node, "order.states")
    if items is None:
        return None
    if not items:
        reader.error(node, f"order.states: needs at least one of: {', '.join(STATES)}", EMPTY_LIST)
        return None
    states: list[str] = []
    for item in items:
        state = reader.choice(item, "order.states", STATES)
        if state is not None and state in states:
            reader.error(item, f"order.states: {state!r} is listed twice", LISTED_TWICE)
        elif state is not None:
            states.append(state)
    # In the vocabulary's order: listing the same states otherwise keeps the rule's id.
    return tuple(sorted(states, key=STATES.index)) if len(states) == len(items) else None


class OrderBook(ScanBook[OrderRule]):
    """Every order rule of a RuleSet, asked in turn about each order update."""
