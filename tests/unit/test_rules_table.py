"""Rule tables: CSV rows as price rules, every bad row at its file:line, ids as in YAML."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from rules.base import Cooldown, Once
from rules.load import RuleLoadError, load_rules
from rules.price import PriceRule
from rules.table import MAX_ERRORS
from watcher.errors import ConfigError

CHANNELS = 'channels: {desk: "json://127.0.0.1:9/x", ops: "json://127.0.0.1:9/y"}\n'
TABLE = "tables:\n  - file: levels.csv\n    notify: [desk]\n"
HEADER = "name,market,op,level\n"


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def table(tmp_path: Path, rows: str, entry: str = TABLE, header: str = HEADER) -> Path:
    """Write rules.yaml with one table entry and its levels.csv; return the YAML's path."""
    write(tmp_path, "levels.csv", header + rows)
    return write(tmp_path, "rules.yaml", CHANNELS + entry)


def errors_of(paths: list[Path]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rules(paths, env={})
    return caught.value.errors


def test_a_good_table_loads_every_row_with_defaults_and_exact_levels(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "btc-up,BTC-USDT,crosses_up,65000.10,,\n"
        "eth-mark,ETH-USDT-SWAP,below,3000,okx,mark\n"
        "\n"  # blank lines are skipped, yet counted in line numbers
        "sol,SOLUSDT,above,1E-8,binance,last\n",
        entry=TABLE + '    message: "{market} {op} {level}"\n    cooldown: 5m\n',
        header="name,market,op,level,venue,source\n",
    )
    ruleset = load_rules([path], env={})
    book = ruleset.of(PriceRule)
    assert len(book) == 3
    first, second, third = book
    assert (first.name, first.venue, first.source, first.op) == (
        "btc-up",
        "okx",
        "last",
        "crosses_up",
    )
    assert str(first.level) == "65000.10"
    assert (second.venue, second.market, second.source) == ("okx", "ETH-USDT-SWAP", "mark")
    assert (third.venue, str(third.level)) == ("binance", "1E-8")
    assert [r.where for r in book] == [f"{tmp_path}/levels.csv:{n}" for n in (2, 3, 5)]
    assert first.channels == ("desk",)
    assert first.repeat == Cooldown(seconds=300)
    assert first.render(first.fields(price=Decimal(1), prev=None, at=_at())) == (
        "BTC-USDT crossed above 65000.10"
    )
    assert ruleset.markets() == {
        ("okx", "BTC-USDT", "last"),
        ("okx", "ETH-USDT-SWAP", "mark"),
        ("binance", "SOLUSDT", "last"),
    }
    assert [s.path for s in ruleset.files] == [str(path), f"{tmp_path}/levels.csv"]


def _at() -> datetime:
    return datetime(2024, 5, 1, tzinfo=UTC)


def test_columns_come_in_any_order_and_spaces_after_commas_are_ignored(tmp_path: Path) -> None:
    path = table(tmp_path, "2.5, below, x-1, BTC-USDT\n", header="level, op, name, market\n")
    [rule] = load_rules([path], env={}).of(PriceRule)
    assert (rule.name, rule.market, rule.op, rule.level) == (
        "x-1",
        "BTC-USDT",
        "below",
        Decimal("2.5"),
    )


YAML_RULE = """\
rules:
  - name: same
    price: {market: BTC-USDT, crosses_up: "65000.0"}
    notify: [desk, ops]
    message: "{market} {price}"
    cooldown: 10m
"""


def test_a_table_row_has_the_id_and_content_of_the_same_rule_written_in_yaml(
    tmp_path: Path,
) -> None:
    yaml_file = write(tmp_path / "yaml", "rules.yaml", CHANNELS + YAML_RULE)
    [written] = load_rules([yaml_file], env={}).of(PriceRule)
    table_file = table(
        tmp_path / "table",
        "same,BTC-USDT,crosses_up,65000.0\n",
        entry='tables:\n  - {file: levels.csv, notify: [desk, ops], message: "{market} {price}",'
        " cooldown: 10m}\n",
    )
    [row] = load_rules([table_file], env={}).of(PriceRule)
    assert row.id == written.id
    assert row.model_dump(exclude={"where"}) == written.model_dump(exclude={"where"})
    assert isinstance(row, PriceRule)
    assert row.where == f"{tmp_path}/table/levels.csv:2"


def test_rows_default_to_the_price_message_and_once(tmp_path: Path) -> None:
    [rule] = load_rules([table(tmp_path, "a,BTC-USDT,above,1\n")], env={}).of(PriceRule)
    assert rule.message.text == PriceRule.DEFAULT_MESSAGE
    assert rule.repeat == Once()


@pytest.mark.parametrize(
    ("rows", "line", "message"),
    [
        ("Bad,BTC-USDT,above,1\n", 2, "name: 'Bad' is not valid: lower-case letters"),
        ("a,BTC USDT,above,1\n", 2, "market: 'BTC USDT' is not valid: the market as"),
        ("a,BTC-USDT,sideways,1\n", 2, "op: 'sideways' is not one of: above, below, crosses_up"),
        ("a,BTC-USDT,above,1e\n", 2, "level: '1e' is not a decimal number"),
        ("a,BTC-USDT,above,NaN\n", 2, "level: 'NaN' is not a decimal number"),
        ("a,BTC-USDT,above,1_000\n", 2, "level: '1_000' is not a decimal number"),
        ("a,BTC-USDT,above,\n", 2, "level: '' is not a decimal number"),
        ("a,BTC-USDT,above,1 \n", 2, "level: '1 ' is not a decimal number"),
        ("a,BTC-USDT,above\n", 2, "expected 4 fields (name,market,op,level), got 3"),
        ("a,BTC-USDT,above,1,2\n", 2, "expected 4 fields (name,market,op,level), got 5"),
        ("\n\na,BTC-USDT,above,x\n", 4, "level: 'x' is not a decimal number"),
        ('a,"BTC\nUSDT",above,1\n', 3, "market: 'BTC\\nUSDT' is not valid"),  # a row's last line
        ('a,BTC-USDT,above,"1\n', 2, "CSV error: unexpected end of data"),
        ('a,"BTC"-USDT,above,1\n', 2, "CSV error: ',' expected after '\"'"),
        ("a,BTC-USDT,above,1\na,BTC-USDT,below,2\n", 3,
         "duplicate rule name 'a' (also at {dir}/levels.csv:2)"),
        ("a" * 70 + ",BTC-USDT,above,1\n", 2, "name: '" + "a" * 40 + "...' is not valid"),
    ],
)  # fmt: skip
def test_each_bad_row_is_an_error_at_its_line(
    tmp_path: Path, rows: str, line: int, message: str
) -> None:
    path = table(tmp_path, rows)
    [error] = errors_of([path])
    assert error.startswith(f"{tmp_path}/levels.csv:{line}: " + message.format(dir=tmp_path))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("", "empty table: expected a header row such as name,market,op,level"),
        ("name,market,op\n", "header: missing required column 'level'"),
        ("name,market,op,level,colour\n", "header: unknown column 'colour'; allowed: name,"),
        ("name,market,op,level,op\n", "header: column 'op' appears twice"),
    ],
)
def test_a_bad_header_is_one_error(tmp_path: Path, header: str, message: str) -> None:
    path = table(tmp_path, "", header=header)
    [error] = errors_of([path])
    assert error.startswith(f"{tmp_path}/levels.csv:1: {message}")


def test_venue_and_source_cells_are_checked(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "a,BTC-USDT,above,1,OKX,last\nb,BTC-USDT,above,1,okx,vwap\n"
        "c,BTCUSDT,above,1,binance,index\nd,BTCUSDT,above,1,binance,bid\n",
        header="name,market,op,level,venue,source\n",
    )
    assert errors_of([path]) == [
        f"{tmp_path}/levels.csv:2: venue: 'OKX' is not valid: a lower-case venue name such as okx",
        f"{tmp_path}/levels.csv:3: source: 'vwap' is not one of: last, bid, ask, mark, index",
        f"{tmp_path}/levels.csv:4: source: binance streams no 'index' price"
        " (it has last, bid, ask)",
    ]


def test_repeat_every_is_refused_for_each_above_and_below_row(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "a,X-Y,crosses_up,1\nb,X-Y,above,1\nc,X-Y,below,1\n",
        entry=TABLE + "    repeat: every\n",
    )
    refused = "repeat: every would fire on every tick while {}; use cooldown"
    assert errors_of([path]) == [
        f"{tmp_path}/levels.csv:3: " + refused.format("above"),
        f"{tmp_path}/levels.csv:4: " + refused.format("below"),
    ]


def test_every_bad_row_of_a_file_is_reported_after_the_rule_file_errors(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "a,X-Y,above,1\nb,X-Y,above,oops\nc,X-Y,up,1\n",
        entry="tables:\n  - file: levels.csv\n    notify: [pager]\n",
    )
    assert errors_of([path]) == [
        f"{path}:4: notify: unknown channel 'pager'; channels: desk, ops",
        f"{tmp_path}/levels.csv:3: level: 'oops' is not a decimal number",
        f"{tmp_path}/levels.csv:4: op: 'up' is not one of: above, below, crosses_up, crosses_down",
    ]


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ("tables:\n  - {notify: desk}\n", 2, "table: missing required key 'file'"),
        ("tables:\n  - {file: levels.csv}\n", 2, "table: missing required key 'notify'"),
        ("tables:\n  - {file: levels.csv, notify: desk, colour: red}\n", 2, "unknown key 'colour'"),
        ("tables:\n  - {file: 7, notify: desk}\n", 2, "file: expected a string, got a number"),
        ("tables:\n  - {file: levels.csv, notify: desk, message: '{nope}'}\n", 2,
         "message: unknown placeholder {nope}"),
        ("tables:\n  - {file: levels.csv, notify: desk, cooldown: soon}\n", 2,
         "cooldown: bad duration 'soon'"),
        ("tables: {file: levels.csv}\n", 1, "tables: expected a list, got a mapping"),
    ],
)  # fmt: skip
def test_each_mistake_in_a_table_entry_is_an_error_in_the_rule_file(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    write(tmp_path, "levels.csv", HEADER + "a,X-Y,above,1\n")
    path = write(tmp_path, "rules.yaml", entry)
    desk = write(tmp_path, "desk.yaml", CHANNELS)
    [error] = errors_of([path, desk])
    assert error.startswith(f"{path}:{line}: "), error
    assert message in error


def test_a_missing_table_is_an_error_at_its_file_key(tmp_path: Path) -> None:
    path = write(
        tmp_path, "rules.yaml", CHANNELS + "tables:\n  - file: gone.csv\n    notify: desk\n"
    )
    assert errors_of([path]) == [
        f"{path}:3: file: cannot read table '{tmp_path}/gone.csv': No such file or directory"
    ]


def test_a_table_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "levels.csv").write_bytes(HEADER.encode() + b"a,X-Y,above,1\nb,caf\xe9,above,1\n")
    path = write(tmp_path, "rules.yaml", CHANNELS + TABLE)
    assert errors_of([path]) == [
        f"{path}:3: file: table '{tmp_path}/levels.csv' is not UTF-8 text (line 3)"
    ]


def test_a_spreadsheet_byte_order_mark_is_not_part_of_the_header(tmp_path: Path) -> None:
    (tmp_path / "levels.csv").write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"a,X-Y,above,1\n")
    path = write(tmp_path, "rules.yaml", CHANNELS + TABLE)
    assert [r.name for r in load_rules([path], env={}).of(PriceRule)] == ["a"]


def test_a_table_path_is_relative_to_its_rule_file_not_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "conf" / "data", "levels.csv", HEADER + "a,X-Y,above,1\n")
    write(tmp_path / "data", "levels.csv", HEADER + "wrong,X-Y,above,1\n")  # the cwd's: not it
    rules_file = write(
        tmp_path / "conf", "rules.yaml", CHANNELS + TABLE.replace("levels.csv", "data/levels.csv")
    )
    monkeypatch.chdir(tmp_path)
    [rule] = load_rules([Path("conf/rules.yaml")], env={}).of(PriceRule)
    assert rule.name == "a"
    assert rule.where == "conf/data/levels.csv:2"
    absolute = TABLE.replace("levels.csv", str(tmp_path / "conf" / "data" / "levels.csv"))
    rules_file.write_text(CHANNELS + absolute)
    [rule] = load_rules([rules_file], env={}).of(PriceRule)
    assert rule.name == "a"  # an absolute path is fine, under the rule file's directory


def test_duplicate_names_across_rule_files_and_tables_name_both_places(tmp_path: Path) -> None:
    yaml_rule = "rules:\n  - name: {name}\n    price: {{market: X-Y, above: 1}}\n    notify: desk\n"
    first = write(tmp_path, "a.yaml", CHANNELS + yaml_rule.format(name="in-yaml"))
    write(tmp_path, "levels.csv", HEADER + "in-yaml,X-Y,above,2\nrow,X-Y,above,3\n")
    second = write(tmp_path, "b.yaml", TABLE)
    third = write(tmp_path, "c.yaml", yaml_rule.format(name="row"))
    assert errors_of([first, second, third]) == [
        f"{tmp_path}/levels.csv:2: duplicate rule name 'in-yaml' (also at {first}:3)",
        f"{third}:2: duplicate rule name 'row' (also at {tmp_path}/levels.csv:3)",
    ]


def test_duplicate_names_across_two_tables(tmp_path: Path) -> None:
    write(tmp_path, "one.csv", HEADER + "a,X-Y,above,1\nb,X-Y,above,1\n")
    write(tmp_path, "two.csv", HEADER + "c,X-Y,above,1\nb,X-Y,below,1\n")
    path = write(
        tmp_path,
        "rules.yaml",
        CHANNELS
        + "tables:\n  - {file: one.csv, notify: desk}\n  - {file: two.csv, notify: desk}\n",
    )
    assert errors_of([path]) == [
        f"{tmp_path}/two.csv:3: duplicate rule name 'b' (also at {tmp_path}/one.csv:3)"
    ]


def test_errors_of_a_table_stop_at_a_hundred(tmp_path: Path) -> None:
    path = table(tmp_path, "".join(f"r{n},X-Y,above,x\n" for n in range(MAX_ERRORS + 50)))
    errors = errors_of([path])
    assert len(errors) == MAX_ERRORS + 1
    assert errors[0] == f"{tmp_path}/levels.csv:2: level: 'x' is not a decimal number"
    assert errors[-1] == f"{tmp_path}/levels.csv: ... and 50 more"


def test_the_version_and_file_stamps_cover_the_tables(tmp_path: Path) -> None:
    path = table(tmp_path, "a,X-Y,above,1\n")
    before = load_rules([path], env={})
    (tmp_path / "levels.csv").write_text(HEADER + "a,X-Y,above,2\n")
    after = load_rules([path], env={})
    assert after.version != before.version
    assert after.files[1].path == f"{tmp_path}/levels.csv"
    (tmp_path / "levels.csv").unlink()
    with pytest.raises(RuleLoadError) as caught:
        load_rules([path], env={})
    assert caught.value.files[1] == (f"{tmp_path}/levels.csv", None, None)


def test_a_csv_error_spoils_its_row_and_the_next_rows_are_still_checked(tmp_path: Path) -> None:
    path = table(tmp_path, "a," + "x" * 140_000 + ",above,1\nb,X-Y,above,oops\nc,X-Y,above,1\n")
    assert errors_of([path]) == [
        f"{tmp_path}/levels.csv:2: CSV error: field larger than field limit (131072)",
        f"{tmp_path}/levels.csv:3: level: 'oops' is not a decimal number",
    ]
