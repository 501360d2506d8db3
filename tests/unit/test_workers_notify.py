"""apprise delivery without exposing URLs: scheme checks, error texts, silenced loggers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from klaxon.redis_server import free_port
from rules.load import load_rules
from watcher.errors import ConfigError, NotificationError
from workers import context
from workers.notify import check_channels, deliver, scheme_of, url_problem
from workers.service import load

SECRET = "tok-9b7e51c2"


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    yield
    context.uninstall()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("tgram://123:abc/456", "tgram"),
        ("JSON://127.0.0.1/x", "json"),
        ("mailtos://u:p@example.org", "mailtos"),
        (f"{SECRET}", ""),
        (f"{SECRET}:still-no-scheme", ""),
        (f"a b{SECRET}://x", ""),  # not scheme-shaped: never shown
        ("://x", ""),
    ],
)
def test_scheme_of(url: str, scheme: str) -> None:
    assert scheme_of(url) == scheme


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("json://127.0.0.1:9/hook", ""),
        (f"nosuch://{SECRET}", "apprise does not support scheme 'nosuch'"),
        (f"{SECRET}", "apprise URL has no scheme (expected e.g. tgram://, slack://, json://)"),
        (f"slack://{SECRET}", "apprise cannot parse this 'slack://' URL (check its format)"),
        (f"tgram://{SECRET}/", "apprise cannot parse this 'tgram://' URL (check its format)"),
    ],
)
def test_url_problem_names_at_most_the_scheme(url: str, problem: str) -> None:
    assert url_problem(url) == problem


def _rules(tmp_path: Path, channels: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"channels:\n{channels}rules:\n  - name: fills\n    fill: {{}}\n    notify: [desk]\n"
    )
    return path


def test_check_channels_reports_file_line_and_name(tmp_path: Path) -> None:
    path = _rules(
        tmp_path,
        '  desk: "json://127.0.0.1:9/hook"\n'
        f'  pager: "nosuch://{SECRET}"\n'
        f'  chat: "slack://{SECRET}"\n',
    )
    errors = check_channels(load_rules([path]))
    assert errors == [
        f"{path}:3: channel 'pager': apprise does not support scheme 'nosuch'",
        f"{path}:4: channel 'chat': apprise cannot parse this 'slack://' URL (check its format)",
    ]


def test_a_worker_refuses_channels_apprise_cannot_use(tmp_path: Path) -> None:
    path = _rules(tmp_path, f'  desk: "nosuch://{SECRET}"\n')
    with pytest.raises(ConfigError) as caught:
        load([path])
    assert caught.value.errors == [
        f"{path}:2: channel 'desk': apprise does not support scheme 'nosuch'"
    ]


def test_deliver_names_the_scheme_of_an_unusable_url_and_nothing_more() -> None:
    with pytest.raises(ConfigError) as caught:
        deliver(SecretStr(f"slack://{SECRET}"), "t", "b", channel="desk")
    assert str(caught.value) == "channel 'desk': apprise cannot use its 'slack://' URL"


def test_a_failed_delivery_names_the_channel_never_the_url(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = free_port()  # nothing listens there: the connection is refused on loopback
    url = SecretStr(f"json://user:{SECRET}@127.0.0.1:{port}/{SECRET}")
    with pytest.raises(NotificationError) as caught:
        deliver(url, "title", "body", channel="desk")
    assert str(caught.value) == "channel 'desk': delivery failed (JSON FAILURE)"
    assert caught.value.__cause__ is None
    assert SECRET not in caplog.text
    assert f":{port}" not in caplog.text
