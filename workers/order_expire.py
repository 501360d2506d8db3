"""ExpireOrder: an armed emulated order's `expires:` or `for:` ran out before its trigger held
(its matcher saw a tick of its series at or after the deadline). Its record is created EXPIRED
under its arming's guard (workers/order_state.expire), so an arming either places its one order
or expires, never both, and the transition is announced once on the account's private stream,
where the rule notifies it like every transition (`[{rule}] {summary}`: "stop BTC-USDT expired:
not triggered by 2026-12-31T00:00:00.000Z"). A redelivered firing finds the guard held and
writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import redis
from redis.client import Pipeline

from rules.actions import ExpireOrder
from rules.base import text, utc_text
from watcher import keys
from workers import order_state
from workers.actions import Won

log = logging.getLogger(__name__)


class ExpireOrders:
    """ExpireOrder: create each expired order's record, announced (no job is queued)."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Expire each order under its arming's guard."""
        for w in won:
            action = w.action
            if not isinstance(action, ExpireOrder):
                raise TypeError(f"ExpireOrders handed a {type(action).__name__}")
            cid = keys.client_order_id(action.rule, w.firing.firing)
            if order_state.expire(client, _record(action, cid, w), action.arming):
                log.info("%s: expired armed (%s)", action.rule, cid)
        return 0


def _record(action: ExpireOrder, cid: str, w: Won) -> dict[str, str]:
    spec = action.spec
    deadline = utc_text(datetime.fromtimestamp(action.deadline_ms / 1000, UTC))
    return {
        "venue": spec.venue, "account": spec.account, "market": spec.market,
        "rule": action.rule, "order": action.order, "client_order_id": cid, "side": spec.side,
        "size": text(spec.size), "ord_type": spec.ord_type, "price": text(spec.price),
        "trigger": text(action.trigger), "source": action.source,
        "reduce_only": "true" if spec.reduce_only else "false",
        "close_position": "true" if spec.close_position else "false",
        "reason": f"not triggered by {deadline}",
        "_firing": w.firing.firing, "_arming": action.arming, "_rule_id": action.rule_id,
        "_stream": keys.firing_stream(w.firing.firing),
        "_channels": ",".join(w.firing.rule.channels),  # notified should the rule be gone
        "_tick_ms": str(w.firing.at_ms),  # the exchange time of the tick that expired it
    }  # fmt: skip
