"""Loading rule files: examples, every error with its file:line, ids, exact Decimals, secrets."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from rules.base import Cooldown, Every, Once
from rules.feed import FeedRule
from rules.fill import FillRule
from rules.lag import LagRule
from rules.load import load_rules
from rules.order import OrderRule
from rules.price import PriceRule
from watcher.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[2] / "rules" / "examples"
CHANNELS = "channels:\n  desk: json://127.0.0.1:1/alerts\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def errors_of(paths: list[Path], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rules(paths, env={} if env is None else env)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def test_demo_example_loads() -> None:
    # `klaxon run` configures an account on each of its venues: every rule names its own.
    env = {"KLAXON_INBOX_PORT": "8765"}
    rules = load_rules([EXAMPLES / "demo.yaml"], env=env, venues=("okx", "binance", "bybit"))
    assert rules.channels["demo"].url.get_secret_value() == "json://127.0.0.1:8765/alerts"
    assert [(r.name, r.venue, r.op, r.level) for r in rules.of(PriceRule)] == [
        ("btc-crosses-60100", "okx", "crosses_up", Decimal("60100")),
        ("btc-below-59000", "okx", "below", Decimal("59000")),
        ("binance-btc-crosses-60100", "binance", "crosses_up", Decimal("60100")),
        ("bybit-btc-crosses-60100", "bybit", "crosses_up", Decimal("60100")),
    ]
    assert [(r.name, r.venue) for r in rules.of(FillRule)] == [
        ("every-fill", "okx"),
        ("binance-every-fill", "binance"),
        ("bybit-every-fill", "bybit"),
    ]
    assert rules.markets() == {
        ("okx", "BTC-USDT", "last"),
        ("binance", "BTCUSDT", "last"),
        ("bybit", "linear:BTCUSDT", "last"),
    }
    feeds = [(r.name, r.state, r.seconds, r.recovered) for r in rules.of(FeedRule)]
    assert feeds == [
        ("feed-down", "down", 10.0, True),
        ("prices-silent", "silent", 30.0, True),
        ("login-refused", "login_failed", 0.0, False),
    ]
    assert [(r.name, r.seconds) for r in rules.of(LagRule)] == [("evaluation-lag", 15.0)]


def test_telegram_example_loads() -> None:
    env = {"TG_TOKEN": "1:AA", "TG_CHAT": "42", "SMTP_URL": "mailtos://u:p@127.0.0.1?to=a@b.c"}
    rules = load_rules([EXAMPLES / "telegram.yaml"], env=env)
    assert rules.channels["desk"].url.get_secret_value() == "tgram://1:AA/42"
    assert rules.channels["mail"].url.get_secret_value() == env["SMTP_URL"]
    assert any(isinstance(r.repeat, Cooldown) for r in rules.of(PriceRule))
    assert {r.side for r in rules.of(FillRule)} == {"buy", "sell"}
    assert ("okx", "BTC-USDT-SWAP", "mark") in rules.markets()
    [order] = rules.of(OrderRule)
    assert (order.client_id_prefix, order.states) == ("grid", ("canceled", "mmp_canceled"))


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.yaml")} == {"demo.yaml", "telegram.yaml"}


def test_three_errors_in_one_file_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "three.yaml",
        CHANNELS + "rules:\n"  # lines 1-3
        "  - name: one\n"  # 4
        "    price: {market: BTC-USDT, crosses_up: 65000, colour: red}\n"  # 5: unknown key
        "    notify: [desk]\n"  # 6
        "  - name: two\n"  # 7
        "    fill: {side: buy}\n"  # 8
        "    notify: [pager]\n"  # 9: unknown channel
        "    cooldown: soon\n",  # 10: bad duration
    )
    assert errors_of([path]) == [
        f"{path}:5: price: unknown key 'colour'; allowed: above, below, crosses_down, crosses_up,"
        " market, source, venue",
        f"{path}:9: notify: unknown channel 'pager'; channels: desk",
        f"{path}:10: cooldown: bad duration 'soon': expected whole numbers with units d, h, m, s"
        " in that order (e.g. 30s, 5m, 1h, 1h30m, 1d)",
    ]


def test_errors_of_two_bad_files_are_all_reported(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", "rules:\n  - name: a\n    price: {market: BTC-USDT, above: 1}\n")
    b = write(tmp_path, "b.yaml", "version: 2\nrules: []\n")
    assert errors_of([a, b]) == [
        f"{a}:2: rule: missing required key 'notify'",
        f"{b}:1: version: must be 1, got 2",
    ]


def test_duplicate_names_across_files_name_both_lines(tmp_path: Path) -> None:
    rule = "  - name: same\n    fill: {}\n    notify: desk\n"
    a = write(tmp_path, "a.yaml", CHANNELS + "rules:\n" + rule)
    b = write(
        tmp_path, "b.yaml", "rules:\n  - name: other\n    fill: {}\n    notify: desk\n" + rule
    )
    c = write(tmp_path, "c.yaml", CHANNELS)
    assert errors_of([a, b, c]) == [
        f"{b}:5: duplicate rule name 'same' (also at {a}:4)",
        f"{c}:2: duplicate channel name 'desk' (also at {a}:2)",
    ]


def test_channels_of_one_file_serve_rules_of_another(tmp_path: Path) -> None:
    a = write(tmp_path, "channels.yaml", CHANNELS)
    b = write(tmp_path, "rules.yaml", "rules:\n  - name: f\n    fill: {}\n    notify: desk\n")
    rules = load_rules([a, b], env={})
    assert rules.of(FillRule)[0].channels == ("desk",)
    assert rules.channels["desk"].where == f"{a}:2"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("", 1, "empty file: expected a mapping with `rules:`"),
        ("- a\n- b\n", 1, "file: expected a mapping, got a list"),
        ("rules:\n  - name: a\n    b: [\n", 4, "YAML syntax error: while parsing a flow node"),
        ("rules: []\n---\nrules: []\n", 2, "YAML syntax error: expected a single document"),
        ("rules: []\nrules: []\n", 2, "file: duplicate key 'rules' (first at line 1)"),
        ("rulez: []\n", 1, "file: unknown key 'rulez'; allowed: channels, rules, tables, version"),
        ("version: one\n", 1, "version: expected an integer, got a string"),
        ("channels:\n  Desk: json://x\n", 2, "channel name: 'Desk' is not valid"),
        ("channels:\n  hook: 42\n", 2, "channels.hook: expected a string, got a number"),
        ("channels:\n  hook: ${A\n", 2, "channels.hook: unclosed '${'"),
        ("channels:\n  hook: json://${1A}\n", 2, "bad variable reference ${1A}"),
        ("rules:\n  - name: a\n    notify: desk\n", 2, "rule: needs exactly one kind key: price"),
        ("rules:\n  - {name: a, notify: desk, fill: {}, price: {}}\n", 2, "has both price and"),
        ("rules:\n  - {name: a, notify: desk, fill: {sid: buy}}\n", 2, "unknown key 'sid'"),
        ("rules:\n  - {name: a, notify: desk, fill: {side: long}}\n", 2, "'long' is not one of"),
        ("rules:\n  - {name: a, notify: desk, fill: {account: 7}}\n", 2, "(quote it)"),
        ("rules:\n  - {name: a, notify: [desk, desk], fill: {}}\n", 2, "'desk' is listed twice"),
        ("rules:\n  - {name: a, notify: [], fill: {}}\n", 2, "notify: needs at least one"),
        ("rules:\n  - {name: a, notify: desk, fill: {}, message: ''}\n", 2, "message: is empty"),
        ("rules:\n  - {name: a, notify: desk, fill: {}, repeat: twice}\n", 2, "'twice' is not"),
        ("rules:\n  - {name: a, notify: desk, fill: {}, cooldown: 60}\n", 2, "needs a unit"),
        ("rules:\n  - {name: a, notify: desk, fill: {}, cooldown: 1m,\n     repeat: once}\n", 2,
         "cooldown: replaces repeat"),
        ("rules:\n  - name: a\n    fill: {}\n    <<: {message: hi}\n    notify: desk\n", 4,
         "merge keys"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y}}\n", 2,
         "price: give exactly one of above, below, crosses_up, crosses_down"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 1,\n    below: 2}}\n", 3,
         "price: has both above and below"),
        ("rules:\n  - {name: a, notify: desk, price: {above: 1}}\n", 2, "missing required key"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: .inf}}\n", 2,
         "price.above: '.inf' is not a decimal number"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 'NaN'}}\n", 2,
         "price.above: 'NaN' is not a finite number"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 010}}\n", 2,
         "'010' has a leading zero"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: [1]}}\n", 2,
         "expected a decimal number, got a list"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 1, source: vwap}}\n", 2,
         "price.source: 'vwap' is not one of: last, bid, ask, mark, index"),
        ("rules:\n  - {name: a, notify: desk, price: {venue: binance, market: BTCUSDT, above: 1,\n"
         "      source: mark}}\n", 3,
         "price.source: binance streams no 'mark' price (it has last, bid, ask)"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 1, venue: OKX}}\n", 2,
         "price.venue: 'OKX' is not valid"),
        ("rules:\n  - {name: a, notify: desk, price: {market: X-Y, above: 1},\n"
         "     repeat: every}\n", 3, "repeat: every would fire on every tick while above"),
    ],
)  # fmt: skip
def test_each_mistake_is_an_error_at_its_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    # The channel file comes second so the broken file's line numbers are its own.
    path = write(tmp_path, "bad.yaml", body)
    desk = write(tmp_path, "desk.yaml", CHANNELS)
    errors = errors_of([path, desk])
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{path}:{line}: "), errors
    assert message in errors[0]


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert errors_of([missing]) == [
        f"{missing}:1: cannot read rule file: No such file or directory"
    ]


def test_missing_env_var_is_named_and_no_value_is_printed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "secrets.yaml",
        "channels:\n"
        '  desk: "tgram://${TG_TOKEN}/${TG_CHAT}"\n'
        '  mail: "${SMTP_URL}"\n'
        '  raw: "not a url hunter2-literal"\n'
        "rules: []\n",
    )
    env = {"TG_CHAT": "chat-4242", "SMTP_URL": "mailtos://me:hunter2@127.0.0.1", "OTHER": "s3cr3t"}
    errors = errors_of([path], env)
    assert errors == [
        f"{path}:2: channels.desk: environment variable TG_TOKEN is not set",
        f"{path}:4: channels.raw: not an apprise URL (expected scheme://...)",
    ]
    for secret in ("chat-4242", "hunter2", "s3cr3t", "mailtos"):
        assert secret not in "\n".join(errors)


def test_env_interpolation_and_escape(tmp_path: Path) -> None:
    path = write(
        tmp_path, "env.yaml", 'channels:\n  hook: "json://127.0.0.1:${PORT}/a?x=$${NOT}&y=$z"\n'
    )
    rules = load_rules([path], env={"PORT": "9000", "NOT": "leaked"})
    channel = rules.channels["hook"]
    assert channel.url.get_secret_value() == "json://127.0.0.1:9000/a?x=${NOT}&y=$z"
    assert "9000" not in repr(channel)
    empty = errors_of([path], {"PORT": ""})
    assert empty == [f"{path}:2: channels.hook: environment variable PORT is empty"]


def test_env_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "env.yaml", 'channels:\n  hook: "json://127.0.0.1:${KLAXON_T_PORT}/"\n')
    monkeypatch.setenv("KLAXON_T_PORT", "7001")
    url = load_rules([path]).channels["hook"].url.get_secret_value()
    assert url == "json://127.0.0.1:7001/"


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ('"0.1"', "0.1"),
        ("0.1", "0.1"),  # a YAML float: read from its text, never through float
        ("0.30000000000000004", "0.30000000000000004"),
        ("65000", "65000"),
        ("65_000", "65000"),
        ("65000.10", "65000.10"),
        ('"1e-8"', "1E-8"),
        ("0x10", "16"),
        ("+1.5", "1.5"),
    ],
)
def test_levels_keep_their_exact_text(tmp_path: Path, written: str, level: str) -> None:
    path = write(
        tmp_path,
        "level.yaml",
        CHANNELS
        + f"rules:\n  - {{name: a, notify: desk, price: {{market: X-Y, above: {written}}}}}\n",
    )
    [rule] = load_rules([path], env={}).of(PriceRule)
    assert rule.level == Decimal(level)
    assert str(rule.level) == level


RULE = """\
channels:
  desk: json://127.0.0.1:1/a
  ops: json://127.0.0.1:2/b
rules:
  - name: btc
    price: {market: BTC-USDT, crosses_up: "65000"}
    notify: [desk]
"""


@pytest.mark.parametrize(
    ("edit", "same"),
    [
        (lambda t: t, True),
        (lambda t: "# moved down\n\n" + t, True),
        (lambda t: t.replace('"65000"', "65000"), True),
        (lambda t: t.replace('"65000"', '"65000.00"'), True),
        (lambda t: t.replace("{market", "{venue: okx, source: last, market"), True),
        (lambda t: t + "    repeat: once\n", True),
        (lambda t: t.replace("json://127.0.0.1:1/a", "json://127.0.0.1:9/z"), True),
        (lambda t: t.replace('"65000"', '"65001"'), False),
        (lambda t: t.replace("crosses_up", "crosses_down"), False),
        (lambda t: t.replace("BTC-USDT", "ETH-USDT"), False),
        (lambda t: t.replace("{market", "{source: mark, market"), False),
        (lambda t: t.replace("[desk]", "[desk, ops]"), False),
        (lambda t: t + "    cooldown: 5m\n", False),
        (lambda t: t + "    message: '{price}'\n", False),
    ],
)  # fmt: skip
def test_rule_id_is_stable_and_changes_with_the_rule(
    tmp_path: Path, edit: Callable[[str], str], same: bool
) -> None:
    original = load_rules([write(tmp_path, "a.yaml", RULE)], env={}).of(PriceRule)[0]
    edited = load_rules([write(tmp_path, "b.yaml", edit(RULE))], env={}).of(PriceRule)[0]
    assert original.id.startswith("btc-")
    assert len(original.id) == len("btc-") + 12
    assert (edited.id == original.id) is same


def test_rule_id_is_stable_across_processes(tmp_path: Path) -> None:
    # Pinned: a changed hash would re-arm every once-rule of every user on upgrade.
    rules = load_rules([write(tmp_path, "a.yaml", RULE)], env={})
    assert rules.of(PriceRule)[0].id == PINNED_ID


PINNED_ID = "btc-b41bbd07e072"


def test_defaults_and_version(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", RULE + "  - {name: f, notify: desk, fill: {}}\n")
    b = write(tmp_path, "b.yaml", "rules: []\n")
    rules = load_rules([a, b], env={})
    [price] = rules.of(PriceRule)
    [fill] = rules.of(FillRule)
    assert (price.venue, price.source, price.repeat) == ("okx", "last", Once())
    assert fill.repeat == Every()
    assert (fill.venue, fill.account, fill.market, fill.side) == (None, None, None, None)
    assert price.where == f"{a}:5"
    assert rules.by_id[price.id] is price
    assert load_rules([a, b], env={}).version == rules.version
    assert load_rules([b, a], env={}).version != rules.version
    b.write_text("rules: [ ]\n")
    assert load_rules([a, b], env={}).version != rules.version


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"rules: []\n# caf\xe9\n", "2: not UTF-8 text"),
        (b"rules: []\nchannels: {a: 'x\x01y'}\n", "2: YAML error: character #x0001 is not allowed"),
        (b"rules:\n  - name: a\n\tnotify: x\n", "3: YAML syntax error: while scanning"),
    ],
)
def test_unreadable_bytes_are_errors_at_their_line(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "bytes.yaml"
    path.write_bytes(data)
    [error] = errors_of([path])
    assert error.startswith(f"{path}:{message}")
