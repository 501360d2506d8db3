"""The order kind: its filters as a table, its rule-file errors with file:line, and its place in
the kinds registry (an order update reaches it through Dispatch, as the evaluator's does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from klaxon.cli import main
from rules.kinds import KINDS, Dispatch, EventMatcher
from rules.load import load_rules
from rules.order import OrderRule
from tests.unit.test_okx_parse import frame
from tests.unit.test_rules_load import CHANNELS, errors_of, write
from watcher.events import Fill, OrderUpdate
from watcher.venues.okx import Okx


def documented() -> tuple[OrderUpdate, Fill]:
    """The OKX docs' `orders` push, parsed as the watcher parses it: an update and its fill."""
    update, fill = Okx("main").parse(frame("okx_ws_orders_push.json")).events
    assert isinstance(update, OrderUpdate)
    assert isinstance(fill, Fill)
    return update, fill


def rules_file(tmp_path: Path, spec: str, extra: str = "") -> Path:
    return write(
        tmp_path,
        "orders.yaml",
        f"{CHANNELS}rules:\n  - name: orders\n    order: {spec}\n    notify: [desk]\n{extra}",
    )


def test_the_documented_update_is_what_the_table_below_varies() -> None:
    update, _ = documented()
    assert (update.venue, update.account, update.market, update.side) == (
        "okx",
        "main",
        "BTC-USDT",
        "sell",
    )
    assert (update.order_type, update.state, update.client_order_id) == ("limit", "filled", "")


@pytest.mark.parametrize(
    ("spec", "change", "fires"),
    [
        ("{}", {}, True),
        ("", {}, True),  # `order:` alone matches every update
        ("{venue: okx, account: main, market: BTC-USDT}", {}, True),
        ("{account: hedge}", {}, False),
        ("{market: ETH-USDT}", {}, False),
        ("{side: sell}", {}, True),
        ("{side: buy}", {}, False),
        ("{order_type: limit}", {}, True),
        ("{order_type: market}", {}, False),
        ("{states: [filled]}", {}, True),
        ("{states: filled}", {}, True),
        ("{states: [canceled, mmp_canceled]}", {}, False),
        ("{states: [canceled, mmp_canceled]}", {"state": "mmp_canceled"}, True),
        ("{client_id_prefix: grid}", {}, False),  # no client id at all
        ("{client_id_prefix: grid}", {"client_order_id": "grid0042"}, True),
        ("{client_id_prefix: grid}", {"client_order_id": "gri"}, False),
        ("{client_id_prefix: grid}", {"client_order_id": "xgrid1"}, False),
        ("{side: sell, states: [live]}", {"state": "live", "side": "buy"}, False),
    ],
)
def test_filters(tmp_path: Path, spec: str, change: dict[str, Any], fires: bool) -> None:
    [rule] = load_rules([rules_file(tmp_path, spec)], env={}).of(OrderRule)
    update, fill = documented()
    assert rule.matches(update.model_copy(update=change)) is fires
    assert rule.matches(fill) is False  # another event kind never fires an order rule


def test_listing_states_in_another_order_keeps_the_rule_id(tmp_path: Path) -> None:
    a = load_rules([rules_file(tmp_path, "{states: [filled, canceled]}")], env={})
    b = load_rules([rules_file(tmp_path, "{states: [canceled, filled]}")], env={})
    assert a.of(OrderRule)[0].states == ("filled", "canceled")
    assert a.of(OrderRule)[0].id == b.of(OrderRule)[0].id
    c = load_rules([rules_file(tmp_path, "{states: [canceled]}")], env={})
    assert c.of(OrderRule)[0].id != a.of(OrderRule)[0].id


def test_default_message_and_repeat(tmp_path: Path) -> None:
    [rule] = load_rules([rules_file(tmp_path, "{}")], env={}).of(OrderRule)
    update, _ = documented()
    assert rule.render_event(update) == (
        "[orders] okx/main limit sell 0.001 BTC-USDT filled"
        " (filled 0.001, order 452197707845865472)"
    )
    assert rule.repeat.kind == "every"


def test_every_placeholder_renders(tmp_path: Path) -> None:
    message = " ".join(f"{name}={{{name}}}" for name in sorted(OrderRule.PLACEHOLDERS))
    path = rules_file(tmp_path, "{}", f'    message: "{message}"\n')
    [rule] = load_rules([path], env={}).of(OrderRule)
    update, _ = documented()
    assert rule.render_event(update) == (
        "account=main avg_price=31527.1 client_order_id= code= filled=0.001"
        " market=BTC-USDT order_id=452197707845865472 order_type=limit price=31527.1 reason="
        " rule=orders side=sell size=0.001 state=filled time=2022-06-01T11:52:33.264Z venue=okx"
    )


def test_an_update_delivered_twice_is_one_subject_and_the_next_update_another(
    tmp_path: Path,
) -> None:
    [rule] = load_rules([rules_file(tmp_path, "{}")], env={}).of(OrderRule)
    update, _ = documented()
    again = OrderUpdate.model_validate(update.model_dump())
    later = update.model_copy(update={"state": "canceled"})
    assert rule.subject(update) == rule.subject(again)
    assert rule.subject(later) != rule.subject(update)


def test_bad_values_are_errors_at_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        CHANNELS + "rules:\n"  # lines 1-3
        "  - name: one\n"  # 4
        "    order:\n"  # 5
        "      side: short\n"  # 6
        "      order_type: limt\n"  # 7
        "      client_id_prefix: grid-1\n"  # 8
        "      states: [filled, done, filled]\n"  # 9
        "      colour: red\n"  # 10
        "    notify: [desk]\n"  # 11
        "  - name: two\n"  # 12
        "    order: {states: []}\n"  # 13
        "    notify: [desk]\n"  # 14
        "    message: '{order} {state}'\n"  # 15
        "  - name: three\n"  # 16
        "    order: [filled]\n"  # 17
        "    notify: [desk]\n",  # 18
    )
    assert errors_of([path]) == [
        f"{path}:6: order.side: 'short' is not one of: buy, sell",
        f"{path}:7: order.order_type: 'limt' is not one of: market, limit, post_only, fok, ioc,"
        " optimal_limit_ioc, mmp, mmp_and_post_only, op_fok, elp, conditional, oco, trigger,"
        " move_order_stop, iceberg, twap, chase, liquidation",
        f"{path}:8: order.client_id_prefix: 'grid-1' is not valid: 1 to 32 letters and digits"
        " (client order ids are alphanumeric)",
        f"{path}:9: order.states: 'done' is not one of: live, partially_filled, filled, canceled,"
        " mmp_canceled, effective, partially_effective, order_failed, partially_failed, pause,"
        " triggered, rejected, expired",
        f"{path}:9: order.states: 'filled' is listed twice",
        f"{path}:10: order: unknown key 'colour'; allowed: account, client_id_prefix, market,"
        " order_type, side, states, venue",
        f"{path}:13: order.states: needs at least one of: live, partially_filled, filled,"
        " canceled, mmp_canceled, effective, partially_effective, order_failed,"
        " partially_failed, pause, triggered, rejected, expired",
        f"{path}:15: message: unknown placeholder {{order}}; allowed: account, avg_price,"
        " client_order_id, code, filled, market, order_id, order_type, price, reason, rule, side,"
        " size, state, time, venue",
        f"{path}:17: order: expected a mapping, got a list",
    ]


def test_klaxon_check_prints_the_errors_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rules_file(tmp_path, "{states: [filed]}")
    assert main(["check", str(path)]) == 1
    assert f"{path}:5: order.states: 'filed' is not one of: live," in capsys.readouterr().err
    good = rules_file(tmp_path, "{venue: bybit, states: [filled]}")
    assert main(["check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "note: rules name venue 'bybit', which no account is on (KLAXON_ACCOUNTS)" in out
    assert "ok: 1 rules, 1 channels in 1 file(s)" in out


def test_an_order_update_reaches_the_order_book_through_the_dispatch(tmp_path: Path) -> None:
    path = rules_file(
        tmp_path,
        "{states: [filled]}",
        "  - name: buys\n    order: {side: buy}\n    notify: [desk]\n"
        "  - name: all\n    order: {}\n    notify: [desk]\n"
        "  - name: fills\n    fill: {}\n    notify: [desk]\n",
    )
    ruleset = load_rules([path], env={})
    assert KINDS["order"].events == ("order",)
    dispatch = Dispatch(ruleset.books)
    assert not dispatch.ticks  # no rule reads ticks: the tick loop asks nobody
    update, fill = documented()
    [orders] = dispatch.events["order"]
    assert orders.kind == "order"
    assert isinstance(orders.matcher, EventMatcher)
    assert orders.matcher.match(update) == [0, 2]  # `orders` (filled) and `all`, not `buys`
    assert [orders.book[p].name for p in orders.matcher.match(update)] == ["orders", "all"]
    dispatch.retire("order", 0)  # a once-claim held for good: never asked again
    assert orders.matcher.match(update) == [2]
    [fills] = dispatch.events["fill"]
    assert fills.matcher.match(fill) == [0]
    assert "position" not in dispatch.events  # position updates: no kind reads them yet
