"""A worker's teardown when its rq command listener closed the connection under UNSUBSCRIBE.

KlaxonWorker.unsubscribe trips the listener's flag before rq sends UNSUBSCRIBE. The listener
may then read a message (which one is not known; perhaps, in a burst worker, its own
subscription's confirmation, read late), see the flag and close the connection while the
UNSUBSCRIBE is being written: the e2e suite saw it once, as
"Error 9 while writing to socket. Bad file descriptor." failing a burst worker's teardown.
The test plays the race's two halves in turn, on a real Redis: the listener reads a message
and closes its connection; then the UNSUBSCRIBE meets a closed socket.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.waiting import wait_until
from watcher import keys
from workers.service import KlaxonWorker


class ClosedUnderUnsubscribe(redis.Connection):
    """A connection whose UNSUBSCRIBE finds its socket closed under it."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        packed = command if isinstance(command, bytes) else b"".join(command)
        if b"UNSUBSCRIBE" in packed:
            raise redis.ConnectionError("Error 9 while writing to socket. Bad file descriptor.")
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]


def test_a_listener_that_closed_its_connection_first_ends_the_teardown_cleanly(
    r: redis.Redis, redis_url: str
) -> None:
    client = redis.Redis.from_url(
        redis_url, connection_class=ClosedUnderUnsubscribe, retry=Retry(NoBackoff(), 0)
    )
    worker = KlaxonWorker([keys.EVALUATE_QUEUE], connection=client)
    worker.subscribe()  # type: ignore[no-untyped-call]
    pubsub, listener = worker.pubsub, worker.pubsub_thread
    assert pubsub is not None
    assert listener is not None
    channel = worker.pubsub_channel_name
    wait_until(lambda: r.pubsub_numsub(channel) == [(channel.encode(), 1)], what="subscribed")
    # The listener, its flag tripped, reads a message and closes its connection.
    listener.stop()
    assert r.publish(channel, json.dumps({"command": "none"})) == 1
    listener.join(timeout=5)
    assert not listener.is_alive()
    worker.unsubscribe()  # its UNSUBSCRIBE meets a closed socket: this raised
    assert pubsub.connection is None
    client.close()
