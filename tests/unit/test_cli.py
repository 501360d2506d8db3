"""`klaxon check`: the examples pass; a broken file gets every error as file:line, exit 1."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from klaxon.cli import main
from watcher.published import publish

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "rules" / "examples").glob("*.yaml"))


def test_examples_pass_even_where_their_secrets_are_not_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TG_TOKEN", "TG_CHAT", "SMTP_URL", "KLAXON_INBOX_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert len(EXAMPLES) >= 2
    assert main(["check", *map(str, EXAMPLES)]) == 0
    out = capsys.readouterr().out
    assert "note: TG_TOKEN is not set here" in out
    assert out.strip().endswith(f"channels in {len(EXAMPLES)} file(s)")


def test_a_set_variable_is_checked_for_real_and_never_printed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DESK_URL", "nosuchservice://tok-4b1e9f27c3")
    rules = tmp_path / "r.yaml"
    rules.write_text('channels:\n  desk: "${DESK_URL}"\nrules: []\n')
    assert main(["check", str(rules)]) == 1
    err = capsys.readouterr().err
    assert f"{rules}:2:" in err
    assert "nosuchservice" in err
    assert "tok-4b1e9f27c3" not in err


def test_three_errors_are_all_reported_with_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "broken.yaml"
    rules.write_text(
        "channels:\n"
        '  desk: "json://127.0.0.1:9/x"\n'
        "rules:\n"
        "  - name: Bad Name\n"  # line 4: name
        "    price: {market: BTC-USDT, above: abc}\n"  # line 5: level
        "    notify: [nope]\n"  # line 6: channel
    )
    assert main(["check", str(rules)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{rules}:4", f"{rules}:5", f"{rules}:6"]
    assert "'abc' is not a decimal number" in lines[1]
    assert "unknown channel 'nope'" in lines[2]


def test_status_shows_streams_queues_and_counters(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import redis

    r = redis.Redis.from_url(redis_url)
    r.xadd("klaxon:ticks:0", {"k": "ticks"})
    r.xgroup_create("klaxon:ticks:0", "evaluators", "0")
    r.hincrby("klaxon:stats", "ticks_in", 5)
    monkeypatch.setenv("KLAXON_REDIS_URL", redis_url)
    assert main(["status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "klaxon:ticks:0: 1 entries; evaluators pending 0 lag 1" in out
    assert "queue klaxon-evaluate: 0 waiting" in out
    assert "ticks_in: 5" in out
    assert out[0] == "rules: no version published yet (klaxon reload publishes the rule files)"
    publish(r, "0123456789abcdef", [("okx", "BTC-USDT", "last"), ("okx", "ETH-USDT", "mark")])
    assert main(["status"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert re.fullmatch(
        r"rules: version 0123456789ab published 20\d\d-[-0-9T:]{14}\+00:00, 2 price series", first
    )


def test_json_format_gives_each_error_its_place_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "broken.yaml"
    rules.write_text(
        "channels:\n"
        '  desk: "json://127.0.0.1:9/x"\n'
        "rules:\n"
        "  - name: a\n"
        "    price: {market: btc-usdt, above: -5}\n"  # line 5: market at 21, level at 38
        "    notify: [nope]\n"  # line 6: channel at 14
    )
    assert main(["check", "--format", "json", str(rules)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    report = json.loads(out)
    assert (report["ok"], report["files"], report["rules"], report["notes"]) == (
        False, 1, None, []
    )  # fmt: skip
    assert [(e["line"], e["column"], e["code"], e["name"]) for e in report["errors"]] == [
        (5, 21, "KX206", "bad-market"),
        (5, 38, "KX204", "out-of-range"),
        (6, 14, "KX301", "unknown-channel"),
    ]
    assert {e["file"] for e in report["errors"]} == {str(rules)}
    assert report["errors"][0]["message"].endswith("did you mean 'BTC-USDT'?")
    assert report["errors"][1]["message"] == "price.above: '-5' must be greater than zero"
    # The text format of the same file: the same messages, as file:line: message on stderr.
    assert main(["check", str(rules)]) == 1
    text = capsys.readouterr().err.splitlines()
    assert text == [f"{e['file']}:{e['line']}: {e['message']}" for e in report["errors"]]


def test_json_format_of_good_files_counts_them_with_the_notes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TG_TOKEN", "TG_CHAT", "SMTP_URL", "KLAXON_INBOX_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert main(["check", "--format", "json", *map(str, EXAMPLES)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["errors"] == []
    assert report["files"] == len(EXAMPLES)
    assert report["rules"] >= len(EXAMPLES)  # each example has rules and channels
    assert report["channels"] >= len(EXAMPLES)
    assert (
        "TG_TOKEN is not set here; channels using it were checked for syntax only"
        in (report["notes"])
    )


def test_json_format_reports_bad_settings_without_a_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KLAXON_ACCOUNTS", "[{")
    assert main(["check", "--format", "json", *map(str, EXAMPLES)]) == 1
    [error] = json.loads(capsys.readouterr().out)["errors"]
    assert error == {
        "file": None,
        "line": None,
        "column": None,
        "code": "KX901",
        "name": "bad-settings",
        "message": "KLAXON_ACCOUNTS: not valid JSON",
    }
