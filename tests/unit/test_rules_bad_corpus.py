"""The corpus of broken rule files (tests/data/rules_bad): each one is refused by `klaxon
check` with exactly the errors its header expects, at their file:line:column with their code,
in the JSON format and in the text format, and no output ever holds a secret."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from klaxon.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "data" / "rules_bad"
CASES = sorted(CORPUS.glob("*.yaml"))
ENV = {"TG_TOKEN": "123456:s3cr3t-env-token", "TG_CHAT": "42", "EMPTY_VAR": ""}
SECRET = "s3cr3t"  # in every secret of the corpus and of ENV
_EXPECT = re.compile(
    r"# expect: (?:(?P<file>[\w.-]+\.csv):)?(?P<line>\d+|-):(?P<column>\d+|-) "
    r"(?P<code>KX\d{3}) (?P<message>.+)"
)


def expected(path: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Return the venues a case is checked on, and the errors its header expects."""
    venues: list[str] = []
    errors: list[dict[str, object]] = []
    for line in path.read_bytes().decode("ascii", "replace").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# venues: "):
            venues = line.removeprefix("# venues: ").split(", ")
        found = _EXPECT.fullmatch(line)
        if line.startswith("# expect: "):
            assert found is not None, f"{path.name}: unreadable expectation {line!r}"
            errors.append(
                {
                    "file": str(path.parent / found["file"]) if found["file"] else str(path),
                    "line": None if found["line"] == "-" else int(found["line"]),
                    "column": None if found["column"] == "-" else int(found["column"]),
                    "code": found["code"],
                    "message": found["message"].replace("$DIR", str(path.parent)),
                }
            )
    return venues, errors


def test_the_corpus_covers_every_part_of_the_rule_language() -> None:
    assert len(CASES) >= 40
    prefixes = {path.name.split("_")[0] for path in CASES}
    for part in ("file", "rule", "price", "market", "fill", "order", "cooldown", "repeat",
                 "message", "channel", "env", "table"):  # fmt: skip
        assert part in prefixes, part
    codes = {error["code"] for path in CASES for error in expected(path)[1]}
    assert len(codes) >= 30  # nearly every code is shown by some file


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_a_broken_file_gets_exactly_its_expected_errors(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    venues, errors = expected(path)
    assert errors, f"{path.name} expects no error"
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    if venues:
        accounts = [{"venue": venue, "account": "main"} for venue in venues]
        monkeypatch.setenv("KLAXON_ACCOUNTS", json.dumps(accounts))
    else:
        monkeypatch.delenv("KLAXON_ACCOUNTS", raising=False)

    assert main(["check", "--format", "json", str(path)]) == 1
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["ok"] is False
    found = [
        {key: e[key] for key in ("file", "line", "column", "code", "message")}
        for e in report["errors"]
    ]
    assert found == errors

    assert main(["check", str(path)]) == 1
    text_out, text_err = capsys.readouterr()
    assert text_out == ""
    assert text_err.splitlines() == [
        f"{e['file']}:{e['line']}: {e['message']}" if e["line"] is not None
        else f"{e['file']}: {e['message']}"
        for e in errors
    ]  # fmt: skip
    assert SECRET not in out + err + text_err
