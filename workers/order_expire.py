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
from rules.base import utc_text
from watcher import keys
from workers import order_state
from workers.actions import Won, handed

log = logging.getLogger(__name__)


class ExpireOrders:
    """ExpireOrder: create each expired order's record, announced (no job is queued)."""

    def stage(self, client: redis.Redis, pipe: Pipeline, won: Sequence[Won]) -> int:
        """Expire each order under its arming's guard."""
        for w, action in handed(self, won, ExpireOrder):
            cid = keys.client_order_id(action.rule, w.firing.firing)
            if order_state.expire(client, _record(action, cid, w), action.arming):
                log.info("%s: expired armed (%s)", action.rule, cid)
        return 0


def _record(action: ExpireOrder, cid: str, w: Won) -> dict[str, str]:
    deadline = utc_text(datetime.fromtimestamp(action.deadline_ms / 1000, UTC))
    record = order_state.fields(action, action.spec, action.trigger, action.arming, cid, w.firing)
    return record | {"reason": f"not triggered by {deadline}"}
