"""`channels:` entries as mappings: rate limits, fallback and digest, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rules.channel import Rate, parse_rate
from rules.load import load_rules
from watcher.errors import ConfigError

RULE = "rules:\n  - name: fills\n    fill: {}\n    notify: [desk]\n"


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [
        ("1/s", 1, 1),
        ("20/min", 20, 60),
        ("30/m", 30, 60),
        ("2/5s", 2, 5),
        (" 100 / h ", 100, 3600),
        ("1/day", 1, 86400),
    ],
)
def test_parse_rate(text: str, count: int, seconds: float) -> None:
    assert parse_rate(text) == Rate(count=count, seconds=seconds)


@pytest.mark.parametrize(
    "text", ["1", "s", "1/", "0/s", "-1/s", "1/0s", "1.5/s", "1/week", "1/367d", "1000001/s"]
)
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="bad"):
        parse_rate(text)


def test_a_400_digit_rate_is_refused_without_quoting_it_whole() -> None:
    with pytest.raises(ValueError, match=r"^bad rate '9{24}': at most 1000000 messages a window$"):
        parse_rate("9" * 400 + "/s")


def test_a_channel_mapping_sets_its_options(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "channels:\n"
        '  desk: {url: "json://127.0.0.1:1/a", rate: [1/s, 20/min], fallback: mail, digest: 3}\n'
        "  mail: json://127.0.0.1:1/b\n" + RULE
    )
    channels = load_rules([path]).channels
    desk = channels["desk"]
    assert desk.rates == (Rate(count=1, seconds=1), Rate(count=20, seconds=60))
    assert (desk.fallback, desk.digest_after) == ("mail", 3)
    assert desk.url.get_secret_value() == "json://127.0.0.1:1/a"
    mail = channels["mail"]
    assert (mail.rates, mail.fallback, mail.digest_after) == ((), None, None)


def test_every_bad_option_is_reported_with_its_line_and_no_url(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "channels:\n"
        "  desk:\n"  # 2
        '    url: "json://127.0.0.1:1/tok-77aa91"\n'
        "    rate: fast\n"  # 4
        "    fallback: desk\n"  # 5
        "    digest: -1\n"  # 6
        "    retries: 3\n"  # 7
        '  ops: {url: "json://127.0.0.1:1/x", fallback: nowhere}\n'  # 8
        "  bare: {rate: 1/s}\n" + RULE  # 9
    )
    with pytest.raises(ConfigError) as caught:
        load_rules([path])
    errors = caught.value.errors
    assert [e.split(": ", 1)[0] for e in errors] == [f"{path}:{n}" for n in (4, 5, 6, 7, 8, 9)]
    assert "channels.desk.rate: bad rate 'fast'" in errors[0]
    assert "channels.desk.fallback: cannot be the channel itself" in errors[1]
    assert "channels.desk.digest: must be 0 to 1000" in errors[2]
    assert "unknown key 'retries'" in errors[3]
    assert (
        "channels.ops.fallback: unknown channel 'nowhere'; channels: bare, desk, ops" in errors[4]
    )
    assert "missing required key 'url'" in errors[5]
    assert all("tok-77aa91" not in e for e in errors)
