"""The order kind through real rq workers on a real Redis: an update written twice (a REST
backfill after a reconnect) notifies once, the order's next update notifies again, and a
once-rule retires after its first firing, all without a workers/ change for the new kind."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from rules.order import OrderRule
from rules.scan import ScanMatcher
from tests.integration.test_workers_harness import PRIVATE, Klaxon, harness
from tests.unit.test_rules_order import documented
from watcher import keys
from watcher.events import OrderUpdate, encode_event
from workers import context

RULES = """\
  - name: sells
    order: {side: sell, states: [filled, canceled]}
    notify: [desk]
    message: "{state} {side} {size} {market} order {order_id}"
  - name: first-order
    order: {}
    notify: [desk]
    message: "first: {state}"
    repeat: once
"""


@pytest.fixture
def kx(redis_url: str, tmp_path: Path) -> Iterator[Klaxon]:
    with harness(redis_url, tmp_path) as k:
        yield k


def _write(kx: Klaxon, update: OrderUpdate) -> None:
    kx.r.xadd(PRIVATE, {b"k": b"order", b"d": encode_event(update)})
    kx.kick(PRIVATE)


def test_order_updates_notify_once_each_and_a_once_rule_retires(kx: Klaxon) -> None:
    kx.rules(RULES)
    update, _ = documented()  # the OKX docs' push: a limit sell, filled
    _write(kx, update.model_copy(update={"state": "live", "filled": Decimal(0)}))
    _write(kx, update)
    _write(kx, update)  # the same update again, in another entry
    kx.work()
    assert kx.messages() == [
        "first: live",
        "filled sell 0.001 BTC-USDT order 452197707845865472",
    ]
    _write(kx, update.model_copy(update={"state": "canceled"}))
    kx.work()
    assert kx.messages()[2:] == ["canceled sell 0.001 BTC-USDT order 452197707845865472"]
    once = context.current().ruleset.of(OrderRule)[1]
    assert kx.r.get(keys.claim(once.id)) is not None
    matcher = context.current().dispatch.matchers[OrderRule.KIND]
    assert isinstance(matcher, ScanMatcher)
    assert not matcher.alive(1)  # retired: later updates never ask it
    assert kx.r.xpending(PRIVATE, keys.GROUP)["pending"] == 0
