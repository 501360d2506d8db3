"""What every emulated order kind shares (stop, take_profit, trailing, oco, bracket): the order
it places, how a rule file writes it, and the events of its life it reads and notifies.

An order rule fires once per arming: when its trigger holds on a tick, its firing's action is a
PlaceOrder (workers/orders.py places the real order, client order id derived from the firing).
Its matcher keeps, per ticker stream, which rules have fired (and a trailing stop's high-water
mark, a bracket's armed exits) in the stream's KindState (rules/kinds.py), so a rule fires once
whichever worker holds the stream. On the account's private stream the same rule matches the
updates of its real orders (client ids carry the rule's tag: keys.rule_tag) to move their state
(TrackOrder) and the EmulatedOrder events of that state machine, which it notifies.

Options (rules/timing.py) an order rule may take, besides `quiet`: `hold` (its trigger must
hold that long, on the ticks' exchange time: anti-wick), `expires` or `for` (an armed order not
triggered by then never fires: it moves ARMED -> EXPIRED, announced once by ExpireOrder, on
the first tick of its series at or after the deadline). `rearm` is refused: an order fires once
per arming. A kind's matcher asks the Gate (rules/gate.py, its timers in the stream's
KindState) about its rules with options only: the rules without keep their plain matching.
How a rule file writes the keys every order shares: rules/order_keys.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cache
from typing import ClassVar, TypeVar

from rules.actions import (
    Action,
    ExpireOrder,
    Limits,
    Notify,
    OrderSpec,
    PlaceOrder,
    TrackOrder,
)
from rules.base import Cooldown, Every, Once, Rule, Series, text, utc_text
from rules.gate import Gate
from rules.scan import ScanBook
from rules.state import KindState
from rules.timing import Options
from watcher import keys
from watcher.events import EmulatedOrder, Event, OrderUpdate, PriceSource, Side

FIRED = "fired"  # a rule's state field once it fired (its order is placed or being placed)
EXPIRED = "expired"  # a rule's state field once its time ran out armed (expires, for)
TIMED_OPTIONS = ("hold", "expires", "for")  # the options that decide whether an order fires
NAMES = {
    "stop": "stop",
    "take_profit": "take-profit",
    "trailing": "trailing stop",
    "oco": "OCO",
    "bracket": "bracket",
}
LEG_NAMES = {"take_profit": "take-profit", "stop": "stop"}
R = TypeVar("R", bound="EmulatedRule")
# Rule id -> the deadline a matcher just expired it at (epoch ms), taken by its tick_actions
# (called right after, in the same evaluation): the firing is then its ExpireOrder.
_EXPIRING: dict[str, int] = {}


class EmulatedRule(Rule):
    """An emulated order: which account's order, in which market, which way and how much."""

    PLACEHOLDERS: ClassVar[frozenset[str]] = frozenset(
        (
            "rule", "venue", "account", "market", "order", "leg", "state", "side", "size",
            "ord_type", "price", "trigger", "fired_at", "source", "order_id", "client_order_id",
            "filled", "avg_price", "code", "reason", "summary", "time",
        )
    )  # fmt: skip
    DEFAULT_MESSAGE: ClassVar[str] = "[{rule}] {summary}"
    # Once per arming: the matcher's state (per stream) keeps a fired rule from firing again,
    # and each event of its orders is claimed once.
    DEFAULT_REPEAT: ClassVar[Once | Every | Cooldown] = Every()

    venue: str
    account: str
    market: str
    side: Side
    size: Decimal | None = None  # None: sized when armed (a bracket's exits) or placed (below)
    reduce_only: bool = False
    close_position: bool = False  # sized by the venue's position when placed; reduce-only
    source: PriceSource = "last"
    limits: Limits = Limits()

    def repeat_problem(self, repeat: Once | Every | Cooldown) -> str:
        """Refuse repeat and cooldown: an order rule fires once per arming."""
        if not isinstance(repeat, Every):
            return "an order rule fires once per arming: remove repeat/cooldown"
        return ""

    def option_problem(self, option: str) -> str:
        """Take `quiet` (its notifications wait for the hours' end), `hold` (its trigger must
        last), `expires` and `for` (it is armed until then); refuse `rearm`: an order fires
        once per arming."""
        if option == "quiet" or option in TIMED_OPTIONS:
            return ""
        return f"an order fires once per arming: {option} does not apply"

    def venues(self) -> frozenset[str]:
        """Return the venue the order is placed on."""
        return frozenset((self.venue,))

    def series(self) -> Series:
        """Return the price series the trigger watches."""
        return (self.venue, self.market, self.source)

    def spec(self, ord_type: str = "market", price: Decimal | None = None) -> OrderSpec:
        """Return the real order this rule places."""
        return OrderSpec(
            self.venue, self.account, self.market, self.side, self.size or Decimal(0), ord_type,
            price, self.reduce_only or self.close_position, self.close_position,
        )  # fmt: skip

    def place(
        self,
        fired_at: Decimal,
        trigger: Decimal | None,
        price: Decimal | None = None,
        leg: str = "",
        cancels: str = "",
    ) -> PlaceOrder:
        """Return the action of a firing at `fired_at`: a market order, or a limit at `price`."""
        return PlaceOrder(
            rule=self.name, rule_id=self.id, order=self.KIND,
            spec=self.spec("market" if price is None else "limit", price), source=self.source,
            trigger=trigger, fired_at=fired_at, arming=self.id, leg=leg, cancels=cancels,
            limits=self.limits, size_from_arming=self.size is None and not self.close_position,
        )  # fmt: skip

    def tick_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the order (trigger_actions), or expire it when its matcher said its time ran
        out on this tick."""
        if _EXPIRING:
            deadline = _EXPIRING.pop(self.id, None)
            if deadline is not None:
                return (self.expire(deadline),)
        return self.trigger_actions(now, prev, ms, bid, ask)

    def trigger_actions(
        self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str
    ) -> tuple[Action, ...]:
        """Place the order at market: the trigger held at `now` (stops and OCOs say more)."""
        return (self.place(now, None),)

    def trigger_level(self) -> Decimal | None:
        """Return the level an armed order waits for (None: several, or one that moves)."""
        return None

    def expire(self, deadline_ms: int) -> ExpireOrder:
        """Return the action of an armed order whose time ran out at `deadline_ms`."""
        return ExpireOrder(
            rule=self.name, rule_id=self.id, order=self.KIND, spec=self.spec(),
            source=self.source, trigger=self.trigger_level(), arming=self.id,
            deadline_ms=deadline_ms,
        )  # fmt: skip

    def matches(self, event: Event) -> bool:
        """Return whether `event` is an update of one of this rule's orders, or a transition."""
        if isinstance(event, OrderUpdate):
            cid = event.client_order_id
            return cid.startswith(keys.CLIENT_ID_PREFIX) and cid[2:10] == keys.rule_tag(self.name)
        return isinstance(event, EmulatedOrder) and event.rule == self.name

    def subject(self, event: Event) -> str | None:
        """Return one update of one real order (a repeat of it claims the same)."""
        if isinstance(event, OrderUpdate):
            ms = int(event.at.timestamp() * 1000)
            return (
                f"{self.id}:{event.venue}:{event.account}:{event.client_order_id}:{event.state}"
                f":{text(event.filled)}:{ms}"
            )
        return None

    def event_actions(self, event: Event) -> tuple[Action, ...]:
        """Track the real order's update; notify the channels of a transition."""
        if isinstance(event, OrderUpdate):
            return (TrackOrder(event),)
        return tuple(Notify(channel, self.options.quiet) for channel in self.channels)

    def render_event(self, event: Event) -> str:
        """Return the message of a transition (an update of the real order: a log line)."""
        if isinstance(event, EmulatedOrder):
            return self.render(self.fields(event))
        if isinstance(event, OrderUpdate):
            return f"{self.name}: {event.client_order_id} {event.state}"
        return f"{self.name}: {event.kind}"

    def render_tick(self, now: Decimal, prev: Decimal | None, ms: int, bid: str, ask: str) -> str:
        """Return what a firing tick says (not sent: its transitions are notified instead)."""
        if _EXPIRING and self.id in _EXPIRING:
            return f"{NAMES.get(self.KIND, self.KIND)} {self.market} expired armed"
        return f"{NAMES.get(self.KIND, self.KIND)} {self.market} triggered at {text(now)}"

    def fields(self, event: EmulatedOrder) -> dict[str, str]:
        """Return every placeholder's value for one transition (absent values are "")."""
        return {
            "rule": self.name, "venue": event.venue, "account": event.account,
            "market": event.market, "order": event.order, "leg": event.leg,
            "state": event.state, "side": event.side, "size": text(event.size),
            "ord_type": event.ord_type, "price": text(event.price),
            "trigger": text(event.trigger), "fired_at": text(event.fired_at),
            "source": event.source, "order_id": event.order_id,
            "client_order_id": event.client_order_id, "filled": text(event.filled),
            "avg_price": text(event.avg_price), "code": event.code, "reason": event.reason,
            "summary": summary(event), "time": utc_text(event.at),
        }  # fmt: skip


def orphaned(event: Event) -> bool:
    """Return whether `event` is about an emulated order (an update of its real order, or one
    of its transitions): when no rule matched it, its rule was renamed or removed."""
    if isinstance(event, OrderUpdate):
        return event.client_order_id.startswith(keys.CLIENT_ID_PREFIX)
    return isinstance(event, EmulatedOrder) and bool(event.client_order_id)


def transition_message(e: EmulatedOrder) -> str:
    """Return the default message of a transition: `[{rule}] {summary}`."""
    return f"[{e.rule}] {summary(e)}"


def summary(e: EmulatedOrder) -> str:
    """Say in one line how far an emulated order got, e.g. "stop BTC-USDT triggered at 59800,
    sell 0.5 placed, filled 0.5 @ 59790"."""
    what = NAMES.get(e.order, e.order)
    if e.leg:
        what += f" ({LEG_NAMES.get(e.leg, e.leg)})"
    what += f" {e.market}"
    size = "the position" if e.close_position and not e.size else text(e.size)
    order = f"{e.side} {size}" + (f" limit {text(e.price)}" if e.price is not None else "")
    why = " ".join(part for part in (e.code, e.reason) if part)
    if e.state == "armed":
        at = f" at {text(e.trigger)}" if e.trigger is not None else ""
        return f"{what} armed: {order}{at}" + (f", {e.reason}" if e.reason else "")
    if e.fired_at is None:  # never triggered: an OCO's other leg, an order that expired armed
        return f"{what} {e.state}" + (f": {why}" if why else "")
    parts = [f"{what} triggered at {text(e.fired_at)}"]
    if e.state == "triggered":
        parts[0] += f" ({e.source}), placing {order}"
    if e.order_id or e.state in ("placed", "filled"):
        parts.append(f"{order} placed")
    if e.state == "filled" or (e.filled and e.state != "placed"):
        parts.append(f"filled {text(e.filled)} @ {text(e.avg_price)}")
    if e.state in ("rejected", "canceled", "expired"):
        if not e.order_id:
            parts.append(f"{order} {e.state}")
        else:
            parts.append(e.state)
        if why:
            parts[-1] += f": {why}"
    return ", ".join(parts)


class EmulatedMatcher:
    """The live side of an order kind's rules: triggers on ticks (subclasses), and the events
    of their orders on the private stream. `state` is a stream's KindState while bound."""

    def __init__(
        self,
        rules: tuple[EmulatedRule, ...],
        state: KindState | None = None,
        shared: _Shared | None = None,
    ) -> None:
        self.rules = rules
        self.state = state if state is not None else KindState()
        self.gate = Gate(self.state)  # the timers of the rules with options, in `state`
        self.shared = shared if shared is not None else _Shared(rules)

    def bind(self, state: KindState) -> EmulatedMatcher:
        """Return this matcher reading and writing one stream's state."""
        bound = type(self).__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound.state = state
        bound.gate = Gate(state)
        return bound

    def retire(self, position: int) -> None:
        """Nothing to do: an order rule fires once per arming, as its state says."""

    def match(self, event: Event) -> list[int]:
        """Return the rules whose orders an update or transition is about."""
        if isinstance(event, OrderUpdate):
            cid = event.client_order_id
            if not cid.startswith(keys.CLIENT_ID_PREFIX):
                return []
            return self.shared.by_tag.get(cid[2:10], [])
        if isinstance(event, EmulatedOrder):
            return self.shared.by_name.get(event.rule, [])
        return []

    def fire(self, rule: EmulatedRule) -> bool:
        """Mark `rule` fired in the stream's state; False if it had fired already."""
        if self.state.get(rule.id) == FIRED:
            return False
        self.state.set(rule.id, FIRED)
        return True

    def expired(self, rule: EmulatedRule, ms: int) -> bool:
        """Return whether a rule with `expires` or `for` ran out of time at `ms` (the first
        time: marked EXPIRED in the stream's state, its hold dropped, its deadline handed to
        its tick_actions); the caller checks it is still armed."""
        options, gate = rule.options, self.gate
        if not gate.expired(rule.id, options, ms):
            return False
        if options.expires_ms is not None:
            deadline = options.expires_ms
        else:
            deadline = int(self.state.get(rule.id + "|f") or ms) + (options.for_ms or 0)
        self.state.set(rule.id, EXPIRED)
        self.state.delete(rule.id + "|h")
        _EXPIRING[rule.id] = deadline
        return True

    def held(self, key: str, rule: EmulatedRule, ms: int, reached: bool) -> bool:
        """Return whether a rule's trigger (its leg's: `key`), reached on this tick, has held
        for the rule's `hold` (at once without one), through the Gate's hold timer `<key>|h`:
        a tick short of the trigger resets it."""
        hold = rule.options.hold_ms
        if hold is None:
            return reached
        return self.gate.admit(key, _hold_only(hold), ms, reached, holds=reached)


@cache
def _hold_only(hold_ms: int) -> Options:
    """Return the options of a hold alone (a rule's expiry is asked of the Gate by rule id)."""
    return Options(hold_ms=hold_ms)


class EmulatedBook(ScanBook[R]):
    """An order kind's rules in load order; they need their triggers' price series streamed."""

    def markets(self) -> set[Series]:
        """Return the price series the triggers watch."""
        return {rule.series() for rule in self}


class _Shared:
    """What every binding of a matcher shares: its rules by tag and by name."""

    def __init__(self, rules: Iterable[EmulatedRule]) -> None:
        self.by_tag: dict[str, list[int]] = {}
        self.by_name: dict[str, list[int]] = {}
        for position, rule in enumerate(rules):
            self.by_tag.setdefault(keys.rule_tag(rule.name), []).append(position)
            self.by_name.setdefault(rule.name, []).append(position)
