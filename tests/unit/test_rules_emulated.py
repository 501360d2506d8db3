"""The emulated order kinds in rule files: what each reads, every bad value as file:line, which
way each trigger fires, which OCO leg a price picks, and the one-line summaries notified."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from rules.actions import Limits, Notify, Offset, PlaceOrder
from rules.codes import Problem
from rules.emulated import EmulatedRule, summary
from rules.load import RuleLoadError, load_rules
from rules.oco import Leg, OcoBook, OcoRule
from rules.stop import StopBook, StopRule, TakeProfitBook, TakeProfitRule
from rules.trigger import TriggerIndex
from tests.unit.test_rules_load import CHANNELS, errors_of, write
from watcher import keys
from watcher.events import EmulatedOrder

COMMON = "market: BTC-USDT, account: main, side: sell, size: '0.5'"
BRACKET = "market: BTC-USDT, account: main, entry: buy, take_profit: '2%', stop: '1%'"
SWAP_CLOSE = "market: BTC-USDT-SWAP, account: main, side: sell, close_position: true"


def problems_of(paths: list[Path]) -> list[Problem]:
    with pytest.raises(RuleLoadError) as caught:
        load_rules(paths, env={})
    return caught.value.problems


def _load(tmp_path: Path, kind: str, spec: str) -> EmulatedRule:
    text = f"{CHANNELS}rules:\n  - name: r\n    {kind}: {{{spec}}}\n    notify: desk\n"
    [rule] = load_rules([write(tmp_path, "o.yaml", text)], env={}).rules()
    assert isinstance(rule, EmulatedRule)
    return rule


@pytest.mark.parametrize(
    ("kind", "spec", "fields"),
    [
        ("stop", f"{COMMON}, trigger: 59800", {"trigger": Decimal(59800), "price": None}),
        (
            "stop",
            f"{COMMON}, trigger: '59800', price: '59700.5', reduce_only: true, source: mark",
            {"price": Decimal("59700.5"), "reduce_only": True, "source": "mark"},
        ),
        ("take_profit", f"{COMMON}, trigger: 65000", {"trigger": Decimal(65000)}),
        ("stop", f"{COMMON}, trigger: 5, source: index", {"source": "index"}),
        ("take_profit", f"{COMMON}, trigger: 65000, source: bid", {"source": "bid"}),
        ("trailing", f"{COMMON}, callback: 250, source: ask", {"source": "ask"}),
        (
            "trailing",
            f"{COMMON}, callback: '1.5%', activation: 61000",
            {"callback": Offset(Decimal("1.5"), True), "activation": Decimal(61000)},
        ),
        ("trailing", f"{COMMON}, callback: 250", {"callback": Offset(Decimal(250), False)}),
        (
            "oco",
            f"{COMMON}, take_profit: {{trigger: 65000, price: 64990}}, stop: {{trigger: 59000}}",
            {"take_profit": Leg(Decimal(65000), Decimal(64990)), "stop": Leg(Decimal(59000))},
        ),
        (
            "bracket",
            "market: BTC-USDT, account: main, entry: buy, take_profit: '2%', stop: 500,"
            " client_id_prefix: grid",
            {"side": "sell", "size": None, "entry": "buy", "client_id_prefix": "grid"},
        ),
        (
            "stop",
            f"{COMMON}, trigger: 1, limits: {{max_size: 1, max_notional: 50000, per_minute: 2}}",
            {"limits": Limits(Decimal(1), Decimal(50000), 2)},
        ),
        (
            "stop",
            f"{SWAP_CLOSE}, trigger: 59000",
            {"size": None, "close_position": True, "reduce_only": True},
        ),
        (
            "trailing",
            f"{SWAP_CLOSE}, callback: 1%",
            {"size": None, "close_position": True, "reduce_only": True},
        ),
    ],
)
def test_each_kind_reads_its_mapping(
    tmp_path: Path, kind: str, spec: str, fields: dict[str, Any]
) -> None:
    rule = _load(tmp_path, kind, spec)
    assert kind == rule.KIND
    assert (rule.venue, rule.account) == ("okx", "main")
    assert rule.market == ("BTC-USDT-SWAP" if "close_position" in fields else "BTC-USDT")
    assert {key: getattr(rule, key) for key in fields} == fields


BAD = [
    ("stop", f"{COMMON}", "stop: missing required key 'trigger'"),
    ("stop", "market: BTC-USDT, side: sell, size: 1, trigger: 1", "key 'account'"),
    ("stop", f"{COMMON}, trigger: 0", "stop.trigger: '0' must be greater than zero"),
    ("stop", f"{COMMON}, trigger: 5, price: -1", "stop.price: '-1' must be greater than zero"),
    ("stop", f"{COMMON}, trigger: 5, reduce_only: 'yes'", "stop.reduce_only: expected true"),
    ("stop", f"{COMMON}, trigger: 5, source: close", "stop.source: 'close' is not one of"),
    (
        "stop",
        "venue: ftx, market: BTC-PERP, account: main, side: sell, size: 1, trigger: 5,"
        " source: index",
        "stop.source: ftx streams no 'index' price (it has last)",
    ),
    ("stop", f"{COMMON}, trigger: 5, when: now", "stop: unknown key 'when'"),
    (
        "take_profit",
        "market: BTC-USDT, account: main, side: hold, size: 1, trigger: 5",
        "take_profit.side: 'hold' is not one of: buy, sell",
    ),
    (
        "trailing",
        f"{COMMON}, callback: '100%'",
        "trailing.callback: 100% must be between 0% and 100%",
    ),
    ("trailing", f"{COMMON}, callback: 'far'", 'expected a percentage such as "1%" or an'),
    ("trailing", f"{COMMON}, callback: 0", "trailing.callback: 0 must be greater than zero"),
    (
        "oco",
        f"{COMMON}, take_profit: {{trigger: 59000}}, stop: {{trigger: 65000}}",
        "oco: selling, the take-profit trigger (59000) must be above the stop's (65000)",
    ),
    (
        "oco",
        f"{COMMON}, take_profit: {{trigger: 65000}}, stop: {{price: 1}}",
        "oco.stop: missing required key 'trigger'",
    ),
    (
        "bracket",
        "market: BTC-USDT, account: main, entry: buy, take_profit: 1%, stop: 1%, side: sell",
        "bracket: unknown key 'side'",
    ),
    (
        "bracket",
        "market: BTC-USDT, account: main, entry: long, take_profit: 1%, stop: 1%",
        "bracket.entry: 'long' is not one of: buy, sell",
    ),
    ("stop", f"{COMMON}, trigger: 5, limits: {{per_minute: 0}}", "per_minute: must be 1 to 100000"),
    (
        "stop",
        "market: BTC-USDT, account: main, side: sell, close_position: true, trigger: 5",
        "KX210 stop.close_position: 'BTC-USDT' is a spot market: it holds no position",
    ),
    (
        "take_profit",
        f"{SWAP_CLOSE}, size: 1, trigger: 5",
        "KX106 take_profit: size and close_position: true exclude each other",
    ),
    (
        "stop",
        "market: BTC-USDT-SWAP, account: main, side: sell, close_position: false, trigger: 5",
        "KX102 stop: missing size (or close_position: true)",
    ),
    (
        "stop",
        "market: BTC-USDT, account: main, side: sell, trigger: 5",
        "stop: missing required key 'size'",
    ),
    (
        "bracket",
        "market: BTC-USDT-SWAP, account: main, entry: buy, take_profit: 1%, stop: 1%,"
        " close_position: true",
        "bracket: unknown key 'close_position'",
    ),
]


@pytest.mark.parametrize(("kind", "spec", "error"), BAD)
def test_a_bad_value_is_an_error_at_its_line(
    tmp_path: Path, kind: str, spec: str, error: str
) -> None:
    text = f"{CHANNELS}rules:\n  - name: r\n    {kind}: {{{spec}}}\n    notify: desk\n"
    path = write(tmp_path, "o.yaml", text)
    found = [f"{p.path}:{p.line}: {p.code.number} {p.message}" for p in problems_of([path])]
    code, _, words = error.partition(" ")
    if not re.fullmatch(r"KX\d{3}", code):
        code, words = "", error
    assert any(line.startswith(f"{path}:5: {code}") and words in line for line in found), found


def test_repeat_and_cooldown_are_refused(tmp_path: Path) -> None:
    text = (
        f"{CHANNELS}rules:\n  - name: r\n    stop: {{{COMMON}, trigger: 5}}\n"
        "    notify: desk\n    repeat: once\n"
    )
    path = write(tmp_path, "o.yaml", text)
    assert any("fires once per arming" in line for line in errors_of([path]))


@pytest.mark.parametrize(
    ("kind", "spec", "option", "value", "why"),
    [
        ("stop", f"{COMMON}, trigger: 5", "rearm", "100", "an order fires once per arming"),
        ("oco", f"{COMMON}, take_profit: {{trigger: 9}}, stop: {{trigger: 5}}", "rearm", "1",
         "an order fires once per arming"),
        ("bracket", BRACKET, "expires", "2030-01-01", "a bracket is armed anew by each entry"),
        ("bracket", BRACKET, "for", "1d", "a bracket is armed anew by each entry fill"),
    ],
)  # fmt: skip
def test_options_an_order_cannot_take_are_refused_at_their_line(
    tmp_path: Path, kind: str, spec: str, option: str, value: str, why: str
) -> None:
    text = (
        f"{CHANNELS}rules:\n  - name: r\n    {kind}: {{{spec}}}\n"
        f"    notify: desk\n    {option}: {value}\n"
    )
    path = write(tmp_path, "o.yaml", text)
    expected = f"{path}:7: {option}: {why}"
    assert any(line.startswith(expected) for line in errors_of([path])), errors_of([path])


def test_quiet_hours_hold_back_an_order_rule_s_notifications(tmp_path: Path) -> None:
    text = (
        f"{CHANNELS}rules:\n  - name: r\n    stop: {{{COMMON}, trigger: 5}}\n"
        '    notify: desk\n    quiet: "22:00-07:00 UTC"\n'
    )
    [rule] = load_rules([write(tmp_path, "o.yaml", text)], env={}).rules()
    [notify] = rule.event_actions(_event())
    assert isinstance(notify, Notify)
    assert notify.quiet is not None
    assert notify.quiet.text() == "22:00-07:00 UTC"


# kind, side, trigger, path: the index of the first tick that reaches the trigger.
@pytest.mark.parametrize(
    ("book", "side", "path", "fires"),
    [
        (StopBook, "sell", ["60000", "59801", "59800", "59000"], 2),  # at or below
        (StopBook, "buy", ["59000", "59799", "59800.0", "61000"], 2),  # at or above
        (TakeProfitBook, "sell", ["59000", "59799", "59800", "58000"], 2),  # at or above
        (TakeProfitBook, "buy", ["61000", "59801", "59799", "59000"], 2),  # at or below
        (StopBook, "sell", ["59000", "60000"], 0),  # beyond already: the first tick fires
    ],
)
def test_triggers_fire_once_at_or_beyond_their_level(
    tmp_path: Path, book: type[StopBook], side: str, path: list[str], fires: int
) -> None:
    kind = "stop" if book is StopBook else "take_profit"
    spec = f"market: BTC-USDT, account: main, side: {side}, size: 1, trigger: 59800"
    rule = _load(tmp_path, kind, spec)
    assert isinstance(rule, StopRule | TakeProfitRule)
    shelf = book()
    shelf.add(rule)
    matcher = shelf.matcher()
    fired = [
        i
        for i, p in enumerate(path)
        if matcher.candidates("okx", "BTC-USDT", "last", None, Decimal(p), 0)
    ]
    assert fired == [fires]


@pytest.mark.parametrize(
    ("price", "leg", "cancels", "trigger", "limit"),
    [
        ("65100", "take_profit", "stop", "65000", "64990"),
        ("58900", "stop", "take_profit", "59000", None),
    ],
)
def test_an_oco_places_the_leg_the_price_reached(
    tmp_path: Path, price: str, leg: str, cancels: str, trigger: str, limit: str | None
) -> None:
    spec = f"{COMMON}, take_profit: {{trigger: 65000, price: 64990}}, stop: {{trigger: 59000}}"
    rule = _load(tmp_path, "oco", spec)
    assert isinstance(rule, OcoRule)
    book = OcoBook()
    book.add(rule)
    assert book.matcher().candidates("okx", "BTC-USDT", "last", None, Decimal(price), 0) == [0]
    [action] = rule.tick_actions(Decimal(price), None, 0, "", "")
    assert isinstance(action, PlaceOrder)
    assert (action.leg, action.cancels, action.trigger) == (leg, cancels, Decimal(trigger))
    assert action.spec.price == (Decimal(limit) if limit else None)
    assert action.spec.ord_type == ("limit" if limit else "market")


def test_client_order_ids_are_valid_on_every_venue() -> None:
    cid = keys.client_order_id(
        "btc-stop", "btc-stop-0123456789ab@klaxon:ticks:3/1700000000000-0#12"
    )
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", cid)  # OKX clOrdId
    assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", cid)  # Binance newClientOrderId
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,36}", cid)  # Bybit orderLinkId
    assert cid.startswith("kx" + keys.rule_tag("btc-stop"))
    assert cid != keys.client_order_id(
        "btc-stop", "btc-stop-0123456789ab@klaxon:ticks:3/1700000000000-0#13"
    )


def _event(**fields: Any) -> EmulatedOrder:
    base: dict[str, Any] = {
        "venue": "okx", "at": datetime(2026, 1, 1, tzinfo=UTC), "account": "main",
        "market": "BTC-USDT", "rule": "r", "order": "stop", "state": "triggered", "side": "sell",
        "size": Decimal("0.5"), "ord_type": "market", "fired_at": Decimal(59800),
        "trigger": Decimal(59800),
    }  # fmt: skip
    return EmulatedOrder(**(base | fields))


FILLED = {"filled": Decimal("0.5"), "avg_price": Decimal(59790)}
LIMIT = {"ord_type": "limit", "price": Decimal(65010), "fired_at": Decimal(65020)}
SUMMARIES: list[tuple[dict[str, Any], str]] = [
    ({}, "stop BTC-USDT triggered at 59800 (last), placing sell 0.5"),
    ({"state": "placed", "order_id": "7"}, "stop BTC-USDT triggered at 59800, sell 0.5 placed"),
    (
        {"state": "filled", "order_id": "7", **FILLED},
        "stop BTC-USDT triggered at 59800, sell 0.5 placed, filled 0.5 @ 59790",
    ),
    (
        {"state": "rejected", "code": "51008_1000", "reason": "Insufficient USDT balance"},
        "stop BTC-USDT triggered at 59800, sell 0.5 rejected: 51008_1000 Insufficient USDT balance",
    ),
    (
        {"state": "canceled", "order_id": "7", "code": "canceled", "reason": "on the venue"},
        "stop BTC-USDT triggered at 59800, sell 0.5 placed, canceled: canceled on the venue",
    ),
    (
        {
            "order": "oco",
            "leg": "stop",
            "state": "canceled",
            "fired_at": None,
            "code": "oco",
            "reason": "the take-profit leg fired first",
        },
        "OCO (stop) BTC-USDT canceled: oco the take-profit leg fired first",
    ),
    (
        {"order": "trailing", "state": "expired", "code": "unavailable", "reason": "gave up"},
        "trailing stop BTC-USDT triggered at 59800, sell 0.5 expired: unavailable gave up",
    ),
    (
        {"order": "take_profit", "state": "placed", "order_id": "9", **LIMIT},
        "take-profit BTC-USDT triggered at 65020, sell 0.5 limit 65010 placed",
    ),
    (
        {"size": Decimal(0), "close_position": True, "reduce_only": True},
        "stop BTC-USDT triggered at 59800 (last), placing sell the position",
    ),
    (
        {"state": "filled", "size": Decimal(3), "close_position": True, **FILLED},
        "stop BTC-USDT triggered at 59800, sell 3 placed, filled 0.5 @ 59790",
    ),
]


@pytest.mark.parametrize(("fields", "line"), SUMMARIES)
def test_a_transition_reads_as_one_line(fields: dict[str, Any], line: str) -> None:
    assert summary(_event(**fields)) == line


def test_a_market_s_every_series_and_venue_keeps_its_own_triggers() -> None:
    # Found by the market's name first (its first series), then by the whole series.
    index = TriggerIndex(
        [
            (("okx", "BTC-USDT", "last"), True, Decimal(59800), 0),
            (("okx", "BTC-USDT", "mark"), True, Decimal(59500), 1),
            (("bybit", "BTC-USDT", "last"), False, Decimal(61000), 2),
            (("okx", "ETH-USDT", "last"), True, Decimal(3000), 3),
        ]
    )
    price = Decimal(59600)
    assert index.reached("okx", "BTC-USDT", "last", price) == [0]
    assert index.reached("okx", "BTC-USDT", "mark", price) == []
    assert index.reached("okx", "BTC-USDT", "mark", Decimal(59500)) == [1]
    assert index.reached("bybit", "BTC-USDT", "last", Decimal(61000)) == [2]
    assert index.reached("bybit", "BTC-USDT", "last", price) == []
    assert index.reached("okx", "BTC-USDT", "index", Decimal(1)) == []
    assert index.reached("binance", "BTC-USDT", "last", Decimal(1)) == []
    assert index.reached("okx", "SOL-USDT", "last", Decimal(1)) == []
    assert index.reached("okx", "ETH-USDT", "last", Decimal(2999)) == [3]
