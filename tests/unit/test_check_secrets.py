"""`klaxon check` never prints a channel URL or a token, whatever the mistake that holds it.

Each case is a rule file with a distinctive fake token where it does not belong; the check must
fail with the file:line of the mistake, and the token must appear nowhere in what it prints.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from klaxon.cli import main

TOKEN = "7788990011:AAFakeTokenForKlaxonTests-q9Z3xW"  # Telegram's bot token shape
URL = f"tgram://{TOKEN}/-100123"
NAMELIKE = "AAFakeToken4KlaxonTests9Z3xW12"  # a token that is also a valid variable name
SLACKISH = "xoxb-1234567890-fake0token0klaxon"  # a token that is also a valid channel name
DESK = 'channels:\n  desk: "json://127.0.0.1:9/x"\n'
RULE = "rules:\n  - name: a\n    price: {market: BTC-USDT, above: '1'}\n"

CASES: list[tuple[str, str, int]] = [
    ("a URL as a channel name", f'channels:\n  "{URL}": "json://127.0.0.1:9/x"\n', 2),
    ("a URL in notify", DESK + RULE + f'    notify: ["{URL}"]\n', 6),
    ("a token as a channel in notify", DESK + RULE + f"    notify: [{SLACKISH}]\n", 6),
    ("a token in a bad ${...} reference", f'channels:\n  desk: "tgram://${{{TOKEN}}}/1"\n', 2),
    ("a URL as an unknown top-level key", f'"{URL}": 1\n', 1),
    ("a URL as an unknown rule key", DESK + RULE + f'    notify: desk\n    "{URL}": 1\n', 7),
    ("a URL as a duplicate key", f'channels:\n  "{URL}": "a"\n  "{URL}": "b"\n', 3),
    ("a URL as a level", DESK + f"rules:\n  - {{name: a, price: {{above: '{URL}'}}}}\n", 4),
    ("a URL as a table file", DESK + f'tables:\n  - {{file: "{URL}", notify: desk}}\n', 4),
]


@pytest.mark.parametrize(("case", "text", "line"), CASES, ids=[c[0] for c in CASES])
def test_a_check_error_never_quotes_a_url_or_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, text: str, line: int
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)
    assert main(["check", str(rules)]) == 1
    out, err = capsys.readouterr()
    assert f"{rules}:{line}: " in err
    for secret in (TOKEN, URL, SLACKISH, "AAFakeToken"):
        assert secret not in out + err


def test_a_token_as_a_variable_name_is_never_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NAMELIKE, raising=False)
    rules = tmp_path / "rules.yaml"
    rules.write_text(f'channels:\n  desk: "tgram://${{{NAMELIKE}}}/1"\nrules: []\n')
    main(["check", str(rules)])  # passes or fails on the URL's form: either way, silently
    out, err = capsys.readouterr()
    assert "is not set here" in out
    assert NAMELIKE not in out + err


def test_a_table_outside_the_rule_files_directory_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLAXON_TEST_TOKEN", ",envtok-5e8a1c,")  # a CSV cell of its own
    (tmp_path / "outside.csv").write_text("tok-outside-1b2c9e\n")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "link.csv").symlink_to(tmp_path / "outside.csv")
    rules = conf / "rules.yaml"
    rules.write_text(
        DESK
        + "tables:\n"
        + "  - {file: /proc/self/environ, notify: desk}\n"  # line 4
        + "  - {file: ../outside.csv, notify: desk}\n"  # line 5
        + "  - {file: link.csv, notify: desk}\n"  # line 6: a link that leads out
    )
    assert main(["check", str(rules)]) == 1
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"{rules}:{n}" for n in (4, 5, 6)]
    assert all("is not under the rule file's directory" in line for line in lines)
    for secret in ("envtok-5e8a1c", "tok-outside-1b2c9e", "KLAXON_TEST_TOKEN"):
        assert secret not in out + err
