"""A thread may be told when its REST requests that change state have left (http.on_sent): an
emulated order's batch goes on then, not when the venue answers (workers/order_place.py)."""

from __future__ import annotations

import threading
import time

from tests.local_http import LocalHttp, Reply
from tests.waiting import wait_until
from watcher.errors import OutcomeUnknown
from watcher.venues import http


def test_a_post_is_reported_once_it_has_left_while_its_answer_is_awaited() -> None:
    local = LocalHttp(Reply(200, b"{}"))
    released, left = threading.Event(), threading.Event()
    local.replies.append(Reply(200, b"{}", hold=released))
    outcome: list[str] = []

    def call() -> None:
        with http.on_sent(left.set):
            try:
                http.send(local.url + "/o", "POST", b'{"a":1}', {}, 5.0, "test POST")
                outcome.append("answered")
            except OutcomeUnknown:
                outcome.append("unknown")  # the held reply answers nothing

    thread = threading.Thread(target=call)
    thread.start()
    try:
        wait_until(left.is_set, 5, "the POST reported sent")
        wait_until(lambda: len(local.seen) == 1, 5, "the server to read it whole")
        assert local.seen[0].body == '{"a":1}'
        assert thread.is_alive()  # the answer is still held: reported before it came
    finally:
        released.set()
        thread.join(10)
        local.close()
    assert outcome == ["unknown"]


def test_neither_a_get_nor_a_post_outside_the_block_is_reported() -> None:
    local = LocalHttp(Reply(200, b"{}"))
    reported: list[str] = []
    try:
        with http.on_sent(lambda: reported.append("first")):
            assert http.send(local.url + "/o", "GET", None, {}, 5.0, "test GET").status == 200
        assert http.send(local.url + "/o", "POST", b"{}", {}, 5.0, "test POST").status == 200
        with http.on_sent(lambda: reported.append("second")):
            assert http.send(local.url + "/o", "POST", b"{}", {}, 5.0, "test POST").status == 200
    finally:
        local.close()
    assert reported == ["second"]
    assert [s.method for s in local.seen] == ["GET", "POST", "POST"]


def test_the_time_a_post_left_is_kept_per_thread_and_a_get_leaves_it() -> None:
    local = LocalHttp(Reply(200, b"{}"))
    try:
        before = int(time.time() * 1000)
        assert http.send(local.url + "/o", "POST", b"{}", {}, 5.0, "test POST").status == 200
        after = int(time.time() * 1000)
        assert before <= http.sent_ms() <= after
        left = http.sent_ms()
        assert http.send(local.url + "/o", "GET", None, {}, 5.0, "test GET").status == 200
        assert http.sent_ms() == left
        other: list[int] = []
        thread = threading.Thread(target=lambda: other.append(http.sent_ms()))
        thread.start()
        thread.join(5)
        assert other == [0]  # another thread sent nothing yet
    finally:
        local.close()
