"""Venue REST calls keep their connection for the next request (watcher/venues/http.py): one
TCP (and TLS) handshake for a burst of calls, never a request sent twice when the server closed
the kept connection meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.local_http import LocalHttp, Reply
from tests.waiting import wait_until
from watcher.errors import OutcomeUnknown
from watcher.venues import http


@pytest.fixture
def server() -> Iterator[LocalHttp]:
    local = LocalHttp(Reply(200, b"{}"), keep_alive=True, idle=0.3)
    yield local
    local.close()


def _call(server: LocalHttp, method: str, path: str = "/api/v5/trade/order") -> http.Reply:
    body = b'{"a":1}' if method == "POST" else None
    return http.send(server.url + path, method, body, {}, 5.0, f"test {method}")


def test_the_calls_of_a_thread_share_one_connection(server: LocalHttp) -> None:
    for method in ("GET", "POST", "GET"):
        assert _call(server, method).status == 200
    assert [s.method for s in server.seen] == ["GET", "POST", "GET"]
    assert len({s.port for s in server.seen}) == 1
    assert server.seen[1].body == '{"a":1}'


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_connection_the_server_closed_is_replaced_and_the_call_sent_once(
    server: LocalHttp, method: str
) -> None:
    _call(server, "GET")
    first = server.seen[0].port
    wait_until(lambda: first in server.closed, 5, "the server to close the idle connection")
    assert _call(server, method).status == 200
    assert [s.method for s in server.seen] == ["GET", method]  # sent once, on a new connection
    assert server.seen[1].port != first


def test_a_connection_idle_too_long_is_not_reused(
    server: LocalHttp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "IDLE_SECONDS", 0.0)
    _call(server, "GET")
    _call(server, "GET")
    assert server.seen[0].port != server.seen[1].port


def test_an_order_whose_answer_never_comes_is_unknown_and_its_connection_dropped() -> None:
    local = LocalHttp(Reply(200, b"{}"), keep_alive=True)
    try:
        released = threading.Event()
        local.replies.append(Reply(200, b"{}", hold=released))
        with pytest.raises(OutcomeUnknown, match="test POST: TimeoutError"):
            http.send(local.url + "/o", "POST", b"{}", {}, 0.3, "test POST")
        released.set()
        assert http.send(local.url + "/o", "GET", None, {}, 5.0, "test GET").status == 200
        assert local.seen[0].port != local.seen[1].port  # not the connection that timed out
    finally:
        local.close()
