"""The delivery engine's pure parts: default limits per scheme, digests, retry-after."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime, timedelta

import pytest
import requests
from pydantic import SecretStr

from rules.base import Channel
from rules.channel import Rate
from workers.digest import BODY_MAX, LINE_MAX, alerts_in, compose, single
from workers.outbox import Message
from workers.ratelimit import BY_SCHEME, DEFAULT, GROUP, PER_SECOND, limits_of
from workers.responses import MAX_RETRY_AFTER, retry_after


def _channel(url: str, rates: tuple[Rate, ...] = ()) -> Channel:
    return Channel(name="c", url=SecretStr(url), where="f:1", rates=rates)


@pytest.mark.parametrize(
    ("url", "limits"),
    [
        ("tgram://123:abc/4567", (PER_SECOND,)),
        ("tgram://123:abc/-100123", GROUP),  # a group's chat id is negative
        ("tgram://123:abc/4567/@news", GROUP),  # a public channel
        ("tgram://123:abc/?to=-100123", GROUP),
        ("slack://T1/B2/C3", (PER_SECOND,)),
        ("json://127.0.0.1/x", BY_SCHEME["json"]),
        ("mailtos://u:p@example.org", DEFAULT),
    ],
)
def test_default_limits_by_scheme(url: str, limits: tuple[Rate, ...]) -> None:
    assert limits_of(_channel(url)) == limits


def test_a_channels_own_rate_wins() -> None:
    own = (Rate(count=5, seconds=1),)
    assert limits_of(_channel("tgram://123:abc/-1", own)) == own


def _m(n: int, body: str = "", via: tuple[str, ...] = ()) -> Message:
    return Message(f"j{n}", f"f{n}", f"klaxon: rule-{n}", body or f"text {n}", via)


def test_one_message_goes_as_written_and_a_fallback_says_so() -> None:
    assert compose([_m(1, "a\nb")]) == ("klaxon: rule-1", "a\nb", 1)
    assert single(_m(1, via=("desk",))) == ("klaxon: rule-1 (fallback for 'desk')", "text 1")


def test_a_digest_has_one_line_per_message_and_only_what_fits() -> None:
    title, body, used = compose([_m(1, "two\nlines"), _m(2, via=("desk",))])
    assert (title, used) == ("klaxon: 2 alerts", 2)
    assert body == "• rule-1: two lines\n• rule-2 (fallback for 'desk'): text 2"
    long = [_m(n, "x" * 1000) for n in range(40)]
    title, body, used = compose(long)
    lines = body.splitlines()
    assert len(lines) == used < 40
    assert title == f"klaxon: {used} alerts"
    assert len(body) <= BODY_MAX
    assert all(len(line) == LINE_MAX and line.endswith("…") for line in lines)


def test_a_delivered_message_counts_its_alerts() -> None:
    digest = compose([_m(n) for n in range(3)])
    assert alerts_in(*digest[:2]) == 3
    assert alerts_in(*compose([_m(1, "a\nb")])[:2]) == 1  # one alert, two lines of its own
    assert alerts_in("klaxon: 2 alerts", "one line") == 1  # a rule named "2 alerts"


def _response(status: int, headers: dict[str, str], content: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers)
    response._content = content
    return response


@pytest.mark.parametrize(
    ("headers", "content", "wait"),
    [
        ({"Retry-After": "7"}, b"", 7.0),
        ({"Retry-After": "1.5"}, b"", 1.5),
        ({"Retry-After": "99999"}, b"", MAX_RETRY_AFTER),
        ({"Retry-After": "-3"}, b"", 0.0),
        ({}, b'{"ok":false,"error_code":429,"parameters":{"retry_after":12}}', 12.0),
        ({}, b'{"ok":false,"error":"ratelimited","retry_after":3}', 3.0),
        ({}, b"rate limited", None),
        ({}, b'{"retry_after": "soon"}', None),
        ({}, b'{"retry_after": true}', None),
        ({"Retry-After": "soon"}, b"", None),
    ],
)
def test_retry_after(headers: dict[str, str], content: bytes, wait: float | None) -> None:
    assert retry_after(_response(429, headers, content)) == wait


def test_retry_after_as_an_http_date() -> None:
    at = datetime.now(UTC) + timedelta(seconds=30)
    header = email.utils.format_datetime(at, usegmt=True)
    wait = retry_after(_response(429, {"Retry-After": header}))
    assert wait is not None
    assert 28 <= wait <= 30
