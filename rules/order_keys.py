"""How a rule file writes what every emulated order kind shares (rules/emulated.py): its
venue, account, market, side, size or close_position, reduce_only, price source and own limits,
and the numbers its kinds read (a positive size or price, an offset)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import yaml

from rules.account import SIDES
from rules.actions import Limits, Offset
from rules.base import ACCOUNT, ACCOUNT_RULE, VENUE, VENUE_RULE
from rules.codes import BAD_NUMBER, MISSING_KEY, NO_POSITION, ONE_OF, OUT_OF_RANGE
from rules.price import read_market, read_source
from rules.reader import BOOL, Entry, Reader, decimal_problem
from watcher.venues import position_problem

ORDER_KEYS = (
    "venue", "account", "market", "side", "size", "reduce_only", "close_position", "source",
    "limits",
)  # fmt: skip
LIMIT_KEYS = ("max_size", "max_notional", "per_minute")
MAX_PER_MINUTE = 100_000
_OFFSET = re.compile(r"(?P<amount>[0-9]+(?:\.[0-9]+)?)(?P<percent>%?)")


def read_order(
    reader: Reader,
    node: yaml.Node,
    kind: str,
    own: tuple[str, ...],
    required: tuple[str, ...],
    sized: bool = True,
    sided: bool = True,
) -> tuple[dict[str, Entry], dict[str, Any]] | None:
    """Read the keys every order kind shares (market, account, side, size...) and return the
    mapping's entries with the fields read; None when the node is not a mapping. A kind that
    is not `sized` (or `sided`) has no size (side) key: it sets them itself."""
    left_out = {*(() if sized else ("size", "close_position")), *(() if sided else ("side",))}
    common = tuple(k for k in ORDER_KEYS if k not in left_out)
    closing = sized and _has_key(node, "close_position")  # then size is not needed (below)
    needed = tuple(
        k
        for k in ("account", "market", "side", "size")
        if k not in left_out and not (closing and k == "size")
    )
    needed += required
    entries = reader.mapping(node, kind, (*common, *own), needed)
    if entries is None:
        return None
    fields: dict[str, Any] = {}
    if "venue" in entries:
        fields["venue"] = reader.string(entries["venue"][1], f"{kind}.venue", VENUE, VENUE_RULE)
    else:
        fields["venue"] = reader.default_venue(node, kind)
    if "account" in entries:
        node = entries["account"][1]
        fields["account"] = reader.string(node, f"{kind}.account", ACCOUNT, ACCOUNT_RULE)
    if "market" in entries:
        node = entries["market"][1]
        fields["market"] = read_market(reader, node, kind, fields["venue"])
    if "side" in entries:
        fields["side"] = reader.choice(entries["side"][1], f"{kind}.side", SIDES)
    if "size" in entries:
        fields["size"] = positive(reader, entries["size"][1], f"{kind}.size")
    if "reduce_only" in entries:
        node = entries["reduce_only"][1]
        fields["reduce_only"] = reader.boolean(node, f"{kind}.reduce_only")
    if "close_position" in entries:
        _read_close(reader, node, kind, entries, fields)
    if "source" in entries:
        read_source(reader, entries["source"][1], kind, fields)
    if "limits" in entries:
        fields["limits"] = read_limits(reader, entries["limits"][1], f"{kind}.limits")
    return entries, fields


def _has_key(node: yaml.Node, key: str) -> bool:
    return isinstance(node, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == key for k, _ in node.value
    )


def _read_close(
    reader: Reader, node: yaml.Node, kind: str, entries: Mapping[str, Entry], fields: dict[str, Any]
) -> None:
    """Read close_position: true sells (buys) the whole position when placed: no size, only a
    market that holds positions (a swap), and always reduce-only."""
    at = entries["close_position"][1]
    closes = reader.boolean(at, f"{kind}.close_position")
    if closes is None:
        fields["close_position"] = None
        return
    if not closes:
        if "size" not in entries:
            reader.error(node, f"{kind}: missing size (or close_position: true)", MISSING_KEY)
        return
    if "size" in entries:
        why = "size and close_position: true exclude each other (it closes the whole position)"
        reader.error(entries["size"][1], f"{kind}: {why}", ONE_OF)
    venue, market = fields.get("venue"), fields.get("market")
    problem = position_problem(venue, market) if venue and market else ""
    if problem:
        reader.error(at, f"{kind}.close_position: {problem}", NO_POSITION)
    fields["close_position"] = fields["reduce_only"] = True


def complete(
    fields: Mapping[str, Any], entries: Mapping[str, Entry], required: Iterable[str]
) -> bool:
    """Return whether every field read is valid and every required key is there."""
    return all(v is not None for v in fields.values()) and all(k in entries for k in required)


def positive(reader: Reader, node: yaml.Node, what: str) -> Decimal | None:
    """Return a bounded decimal number greater than zero (a size, a price)."""
    return reader.decimal(node, what, positive=True)


def read_offset(reader: Reader, node: yaml.Node, what: str) -> Offset | None:
    """Return a distance: a percentage ("1%", "0.5%": under 100) or an amount ("250")."""
    raw = str(node.value).strip() if isinstance(node, yaml.ScalarNode) else ""
    match = _OFFSET.fullmatch(raw)
    if match is None or (isinstance(node, yaml.ScalarNode) and node.tag == BOOL):
        example = 'a percentage such as "1%" or an amount such as "250"'
        reader.error(node, f"{what}: expected {example}", BAD_NUMBER)
        return None
    amount, percent = Decimal(match["amount"]), bool(match["percent"])
    problem = decimal_problem(amount, positive=True)
    if problem or (percent and amount >= 100):
        bound = "between 0% and 100%" if percent else problem
        reader.error(
            node, f"{what}: {raw} must be {bound}".replace("must be must", "must"), OUT_OF_RANGE
        )
        return None
    return Offset(amount, percent)


def read_limits(reader: Reader, node: yaml.Node, what: str) -> Limits | None:
    """Read a rule's own limits: max_size, max_notional, per_minute (orders a minute)."""
    entries = reader.mapping(node, what, LIMIT_KEYS)
    if entries is None:
        return None
    errors = len(reader.errors)
    size = notional = None
    per_minute: int | None = None
    if "max_size" in entries:
        size = positive(reader, entries["max_size"][1], f"{what}.max_size")
    if "max_notional" in entries:
        notional = positive(reader, entries["max_notional"][1], f"{what}.max_notional")
    if "per_minute" in entries:
        per_minute = reader.integer(entries["per_minute"][1], f"{what}.per_minute")
        if per_minute is not None and not 1 <= per_minute <= MAX_PER_MINUTE:
            node = entries["per_minute"][1]
            reader.error(node, f"{what}.per_minute: must be 1 to {MAX_PER_MINUTE}", OUT_OF_RANGE)
    if len(reader.errors) > errors:
        return None
    return Limits(size, notional, per_minute)
