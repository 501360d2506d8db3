"""ListenKeys against a local HTTP server: a key per connect, kept alive from its own thread."""

from __future__ import annotations

import logging

import orjson
import pytest

from tests.local_http import LocalHttp, Reply
from tests.waiting import wait_until
from watcher.venues.binance import USDM, BinanceCredentials, BinanceRest, ListenKeys

CREDS = BinanceCredentials(api_key="key-5a5a", secret_key="secret-6b6b")
KEY = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"  # the documented one
CREATED = Reply(body=orjson.dumps({"listenKey": KEY}))


def keys_of(local: LocalHttp, interval: float, retry: float = 60.0) -> ListenKeys:
    """ListenKeys on a USD-M client of the local server; keepalives answer {} unless scripted."""
    local.default = Reply(body=b"{}")
    rest = BinanceRest(CREDS, local.url, USDM, venue="binanceusdm")
    return ListenKeys(rest, "ws://127.0.0.1:9/", interval=interval, retry=retry)


def test_the_url_carries_the_key_and_keepalives_follow(local: LocalHttp) -> None:
    local.replies.append(CREATED)
    keys = keys_of(local, interval=0.05)
    try:
        assert keys.url() == f"ws://127.0.0.1:9/ws/{KEY}"
        wait_until(lambda: keys.keepalives >= 3, what="three keepalives")
    finally:
        keys.stop()
    methods = [s.method for s in local.seen]
    assert methods[0] == "POST"
    assert set(methods[1:]) == {"PUT"}
    assert keys.key == KEY
    count = len(local.seen)
    local.replies.append(CREATED)
    assert keys.url().endswith(KEY)  # a connect after stop() still gets its key
    assert len(local.seen) == count + 1  # ... and no keepalive thread starts again


def test_a_failed_keepalive_is_logged_and_retried(
    local: LocalHttp, caplog: pytest.LogCaptureFixture
) -> None:
    local.replies += [CREATED, Reply(503, b"busy"), Reply(400, b'{"code":-1125,"msg":"gone"}')]
    keys = keys_of(local, interval=0.05, retry=0.01)
    with caplog.at_level(logging.WARNING):
        try:
            keys.url()
            wait_until(lambda: keys.keepalives >= 1, what="a keepalive after the failures")
        finally:
            keys.stop()
    assert "could not extend the listen key (OutcomeUnknown: binanceusdm PUT" in caplog.text
    assert "the listen key expired" in caplog.text
    assert KEY not in caplog.text


def test_a_second_connect_asks_again_and_keeps_one_thread(local: LocalHttp) -> None:
    local.replies += [CREATED, Reply(body=orjson.dumps({"listenKey": "k2"}))]
    keys = keys_of(local, interval=60)
    try:
        assert keys.url().endswith(KEY)
        assert keys.url().endswith("/ws/k2")
        assert keys.key == "k2"
    finally:
        keys.stop()
    assert [s.method for s in local.seen] == ["POST", "POST"]


def test_failed_keepalives_are_one_trouble_until_one_passes(local: LocalHttp) -> None:
    local.replies.append(CREATED)
    keys = keys_of(local, interval=0.02, retry=0.02)
    local.default = Reply(503, b"busy")
    try:
        keys.url()
        first = wait_until(keys.trouble, what="a failed keepalive")
        assert first is not None
        assert first.state == "listen_key"
        assert first.detail == "binanceusdm: could not extend the listen key (OutcomeUnknown)"
        puts = len(local.seen)
        wait_until(lambda: len(local.seen) >= puts + 2, what="two more failures")
        assert keys.trouble() == first  # the trouble began at the first of them
        local.default = Reply(body=b"{}")
        wait_until(lambda: keys.trouble() is None, what="a keepalive that passes")
        local.default = Reply(503, b"busy")
        wait_until(keys.trouble, what="a failure again")
        keys.stop()  # no keepalive races the connect below
        local.replies.append(CREATED)
        keys.url()  # a connect with a fresh key: nothing is wrong with it
        assert keys.trouble() is None
    finally:
        keys.stop()
    assert KEY not in str(first)
