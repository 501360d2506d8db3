"""What a rule declares its firings do: plain data here, carried out by workers/actions.py.

A rule's actions() lists them (price, fill and order rules: notify each of their channels); a
firing's own actions come from the rule and what fired it (Rule.tick_actions, event_actions),
so an order rule can say which leg fired and at what price. A new kind of action is a new
frozen dataclass here plus its handler in workers/actions.py HANDLERS; the evaluator hands a won
claim's actions over without knowing their types.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rules.timing import Quiet
from watcher.events import Fill, OrderUpdate, Side


@dataclass(frozen=True, slots=True)
class Notify:
    """Send the firing's message to one channel (by name) of the rule files; in the rule's
    `quiet` hours, when they end."""

    channel: str
    quiet: Quiet | None = None


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """The real order an emulated one places: where, which way, how much, at what price."""

    venue: str
    account: str
    market: str
    side: Side
    size: Decimal
    ord_type: str  # market or limit
    price: Decimal | None = None  # the limit price
    reduce_only: bool = False
    close_position: bool = False  # size: the whole position when placed (size is then 0)


@dataclass(frozen=True, slots=True)
class Limits:
    """A rule's own risk limits (None: no limit of that kind), beside the global ones."""

    max_size: Decimal | None = None
    max_notional: Decimal | None = None
    per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """Place an emulated order's real order: its trigger held at `fired_at`.

    `arming` scopes the one order allowed (the rule's id; a bracket's arming); `order` is the
    rule's kind, `leg` an OCO's or bracket's leg; `cancels` names the leg this one cancels.
    `size_from_arming` sizes it from the armed record (a bracket: what its entry filled).
    """

    rule: str  # the rule's name
    rule_id: str
    order: str
    spec: OrderSpec
    source: str
    trigger: Decimal | None
    fired_at: Decimal
    arming: str
    leg: str = ""
    cancels: str = ""
    limits: Limits = Limits()
    size_from_arming: bool = False


@dataclass(frozen=True, slots=True)
class ExpireOrder:
    """An armed emulated order's time ran out (its `expires:` or `for:`) before its trigger
    held: it moves ARMED -> EXPIRED, announced once, and never places its order."""

    rule: str  # the rule's name
    rule_id: str
    order: str
    spec: OrderSpec
    source: str
    trigger: Decimal | None  # its trigger level (an OCO's: None)
    arming: str
    deadline_ms: int  # when its time ran out (epoch ms, the exchange's clock)


@dataclass(frozen=True, slots=True)
class TrackOrder:
    """Move an emulated order's state after an update of its real order (by client id)."""

    update: OrderUpdate


@dataclass(frozen=True, slots=True)
class Offset:
    """A distance from a price: an amount, or a percentage of the price ("1%" -> 1, True)."""

    amount: Decimal
    percent: bool

    def of(self, price: Decimal) -> Decimal:
        """Return the distance from `price`."""
        return price * self.amount / 100 if self.percent else self.amount

    def text(self) -> str:
        """Return the offset as written in a rule file ("1%", "250")."""
        return format(self.amount, "f") + ("%" if self.percent else "")


@dataclass(frozen=True, slots=True)
class ArmBracket:
    """Arm (or grow) a bracket's exits after a fill of its entry: their size is what the entry
    filled so far, their levels offsets from its average price."""

    rule: str  # the rule's name
    rule_id: str
    fill: Fill
    take_profit: Offset
    stop: Offset

    def levels(self, entry: Decimal) -> tuple[Decimal, Decimal]:
        """Return the take-profit and stop trigger levels around an average entry price (above
        and below it after a buy; below and above after a sell)."""
        up, down = self.take_profit.of(entry), self.stop.of(entry)
        if self.fill.side == "buy":
            return entry + up, entry - down
        return entry - up, entry + down


Action = Notify | PlaceOrder | ExpireOrder | TrackOrder | ArmBracket
