"""The logging net: known secret values never reach a log line, even inside an exception."""

from __future__ import annotations

import logging
import sys

import pytest

from klaxon.logs import MASK, SecretMask, masked_url, url_secrets


def _format(record: logging.LogRecord, mask: SecretMask) -> str:
    mask.filter(record)
    return logging.Formatter("%(message)s").format(record)


def test_secret_in_message_args_and_exception_is_masked() -> None:
    mask = SecretMask(["tok-123456", "short"])
    try:
        raise ValueError("failed for tgram://tok-123456/chat")
    except ValueError:
        exc = sys.exc_info()
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", ("json://short",), exc)
    text = _format(record, mask)
    assert "tok-123456" not in text
    assert "short" not in text
    # The argument, the traceback's source line and the exception message.
    assert text.count(MASK) == 3


def test_values_too_short_to_be_secrets_are_left_alone() -> None:
    # Masking "buy" would garble every message; real secrets are longer than 3 characters.
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "buy %s", ("BTC",), None)
    assert _format(record, SecretMask(["buy"])) == "buy BTC"


@pytest.mark.parametrize("secrets", [[], ["zzzz-not-present"]])
def test_records_without_secrets_are_untouched(secrets: list[str]) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "price %s", ("60100",), None)
    assert _format(record, SecretMask(secrets)) == "price 60100"


@pytest.mark.parametrize(
    ("url", "printed", "secrets"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", []),
        ("redis://:pw-7c1e5a@10.0.0.2:6380/1", "redis://:***@10.0.0.2:6380/1", ["pw-7c1e5a"]),
        ("rediss://app:pw%40x9@h/0", "rediss://app:***@h/0", ["pw%40x9", "pw@x9"]),
        ("redis://tok-only-9f2d@h:1/0", "redis://***@h:1/0", ["tok-only-9f2d"]),
        ("unix:///run/redis.sock", "unix:///run/redis.sock", []),
    ],
)
def test_a_url_prints_without_its_password(url: str, printed: str, secrets: list[str]) -> None:
    assert masked_url(url) == printed
    assert url_secrets(url) == secrets
