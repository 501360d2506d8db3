"""Emulated orders' state in Redis: a trailing stop's mark follows its stream to another
worker, and the risk limits' per-minute windows count each order once."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis

from rules.actions import Limits, OrderSpec
from rules.load import load_rules
from rules.trailing import TrailingRule
from watcher import keys
from watcher.events import TickRow, encode_ticks
from workers import order_state
from workers.context import Context
from workers.evaluate import evaluate_stream
from workers.risk import RiskLimits, refusal

RULES = """\
channels:
  desk: "json://127.0.0.1:9/hook"
rules:
  - name: trail
    trailing: {market: BTC-USDT, account: main, side: sell, size: "0.5", callback: "1%",
               activation: "61000"}
    notify: desk
"""
STREAM = keys.ticks_stream(keys.partition("okx", "BTC-USDT", 4))


def _add(r: redis.Redis, *prices: str) -> None:
    ms = int(time.time() * 1000)
    with r.pipeline(transaction=False) as pipe:
        for price in prices:
            rows: list[TickRow] = [("BTC-USDT", "last", price, "", "", ms)]
            pipe.xadd(STREAM, {b"k": b"ticks", b"v": b"okx", b"d": encode_ticks(rows)})
        pipe.execute()


def test_a_trailing_mark_follows_its_stream_to_another_worker(
    r: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = load_rules([path], env={})
    [rule] = list(ruleset.of(TrailingRule))
    first = Context.build(ruleset)
    _add(r, "60000", "61000", "61500", "61200")
    assert evaluate_stream(r, STREAM, first) == 4
    assert r.hget(keys.kind_state(STREAM, "trailing"), rule.id) == b"x:61500"
    # Another worker takes the stream: it knows the high only from Redis; 60885 is 1% below.
    second = Context.build(load_rules([path], env={}))
    _add(r, "60900", "60885")
    assert evaluate_stream(r, STREAM, second) == 2
    assert r.hget(keys.kind_state(STREAM, "trailing"), rule.id) == b"fired"
    [key] = [k.decode() for k in r.scan_iter(keys.emulated("*"))]
    record = order_state.load(r, key.removeprefix(keys.emulated("")))
    assert (record["state"], record["fired_at"], record["side"], record["size"]) == (
        "triggered", "60885", "sell", "0.5",
    )  # fmt: skip


SPEC = OrderSpec("okx", "main", "BTC-USDT", "sell", Decimal("0.5"), "market")


@pytest.mark.parametrize(
    ("limits", "own", "why"),
    [
        (RiskLimits(markets=frozenset({"okx:ETH-USDT"})), Limits(), "is not among the markets"),
        (RiskLimits(markets=frozenset({"BTC-USDT"})), Limits(), None),
        (RiskLimits(max_size={"BTC-USDT": Decimal("0.4")}), Limits(), "over global max size 0.4"),
        (RiskLimits(), Limits(max_size=Decimal("0.1")), "over the rule's max size 0.1"),
        (RiskLimits(max_notional=Decimal(30000)), Limits(), None),  # 0.5 x 60000 = 30000
        (RiskLimits(), Limits(max_notional=Decimal(29999)), "notional 30000 is over the rule's"),
    ],
)
def test_size_notional_and_market_limits(
    r: redis.Redis, limits: RiskLimits, own: Limits, why: str | None
) -> None:
    found = refusal(r, limits, own, SPEC, Decimal(60000), "rule-1", "kx1")
    assert found is None if why is None else why in (found or "")


def test_orders_per_minute_count_each_order_once(r: redis.Redis) -> None:
    limits = RiskLimits(per_minute=2)
    for cid in ("kx1", "kx1", "kx2"):  # the same order asked twice counts once
        assert refusal(r, limits, Limits(), SPEC, Decimal(1), "rule-1", cid) is None
    why = refusal(r, limits, Limits(), SPEC, Decimal(1), "rule-1", "kx3")
    assert why == "the account's limit of 2 orders a minute is reached"
    own = Limits(per_minute=1)  # the rule's own window, on another account's orders
    other = OrderSpec("okx", "hedge", "BTC-USDT", "sell", Decimal(1), "market")
    assert refusal(r, limits, own, other, Decimal(1), "rule-9", "kx4") is None
    why = refusal(r, limits, own, other, Decimal(1), "rule-9", "kx5")
    assert why == "the rule's limit of 1 orders a minute is reached"
    assert r.zcard(keys.order_window("okx:main")) == 2
