"""A message sent while Redis dies is recorded as sent once Redis is back: it is not sent twice.

The chaos soak (bench/chaos.py) saw an alert delivered twice: redis-server was killed between
the channel's answer and the outbox's record of the send; the job failed, the message stayed in
the outbox and the next sender sent it again. The sender now waits for Redis to come back.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis
from pydantic import SecretStr

from klaxon.inbox import Inbox, Payload
from klaxon.redis_server import RedisServer
from rules.base import Channel
from workers.delivery import flush, submit_many
from workers.outbox import Message


class _KillingInbox(Inbox):
    """An inbox that, on its first delivery, SIGKILLs redis-server and restarts it 1 s later.

    The restart is done by a thread that lives until close(): redis-server dies with the
    thread that started it (PR_SET_PDEATHSIG, klaxon.children).
    """

    def __init__(self, server: RedisServer) -> None:
        super().__init__()
        self.server = server
        self.killed = threading.Event()
        self.restarted = threading.Event()
        self.closing = threading.Event()
        self.keeper = threading.Thread(target=self._keep)
        self.keeper.start()

    def _record(self, path: str, payload: Payload) -> int:
        status = super()._record(path, payload)
        if len(self.received) == 1 and self.server.process is not None:
            self.server.process.kill()
            self.server.process.wait()
            self.killed.set()
        return status

    def _keep(self) -> None:
        if self.killed.wait(60) and not self.closing.wait(1.0):
            self.server.start(timeout=60.0)
            self.restarted.set()
        self.closing.wait(120)
        self.server.stop()

    def close(self) -> None:
        self.closing.set()
        self.keeper.join(30)


@pytest.mark.timeout(180)
def test_a_send_is_recorded_after_a_redis_restart_and_not_sent_again(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis", persist=True).start()
    inbox = _KillingInbox(server)
    client = redis.Redis.from_url(server.url)
    try:
        with inbox:
            channels = {
                "desk": Channel(name="desk", url=SecretStr(inbox.url("desk")), where="test")
            }
            message = Message("job-1", "rule@s/1-1#0", "klaxon: rule", "the one alert")
            assert submit_many(client, channels, "desk", [message]) == ["delivered"]
            assert inbox.restarted.is_set()
            assert flush(client, channels, "desk", None) == 0
            assert submit_many(client, channels, "desk", [message]) == ["already delivered"]
            assert [p["message"] for p in inbox.received] == ["the one alert"]
    finally:
        client.close()
        inbox.close()
