"""The account's listen key: what opens its user data stream, alive for a time after each POST
or keepalive (Binance: 60 minutes; SimConfig.listen_key_ttl compresses it).

POST answers the active key, extended, or a new one when none is active. When a key expires,
every connection on it gets `listenKeyExpired` and no more user data; the connection stays
open ("this event is not related to the websocket disconnection"), and a new key is needed.
https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams
"""

from __future__ import annotations

import asyncio
import secrets
import string
from collections.abc import Coroutine
from typing import Any

from simulator.binance.user_frames import listen_key_expired
from simulator.connection import Client, Hub

_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64  # as Binance's keys are
USER_FEED = "private"
USER_PATH = "/ws/"


def key_of(client: Client) -> str:
    """Returns the listen key a user data connection was opened with (its path: /ws/<key>)."""
    return client.url.path.removeprefix(USER_PATH)


class ListenKeys:
    """The one listen key of the simulated account, its expiry, and the clients it serves."""

    def __init__(self, hub: Hub, ttl: float) -> None:
        self.hub = hub
        self.ttl = ttl
        self.key = ""  # "" while no key is active
        self.created = 0  # keys made so far
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def valid(self, key: str) -> bool:
        """Tells whether `key` is the active listen key."""
        return bool(self.key) and secrets.compare_digest(key.encode(), self.key.encode())

    def serves(self, client: Client) -> bool:
        """Tells whether a user data connection still gets events: its key is the active one."""
        return client.logged_in and self.valid(key_of(client))

    def create(self) -> str:
        """Returns the active key extended by the key's life, or a new one."""
        if not self.key:
            self.key = "".join(secrets.choice(_ALPHABET) for _ in range(KEY_LENGTH))
            self.created += 1
        self._arm()
        return self.key

    def keepalive(self, key: str | None) -> bool:
        """Extends the active key (`key` None: the account's); False when there is none such."""
        if not self.key or (key is not None and not self.valid(key)):
            return False
        self._arm()
        return True

    def close(self, key: str | None) -> bool:
        """Closes the active key (`key` None: the account's): its connections get no more user
        data. False when there is none such."""
        if not self.key or (key is not None and not self.valid(key)):
            return False
        self._end()
        return True

    def expire(self) -> int:
        """Expires the active key now; returns how many connections were told (-1: no key)."""
        if not self.key:
            return -1
        key = self.key
        self._end()
        clients = [c for c in self.hub.all(USER_FEED) if c.logged_in and key_of(c) == key]
        for client in clients:
            client.logged_in = False
        self._spawn(self._tell(clients, key))
        return len(clients)

    def _arm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(self.ttl, self.expire)

    def _end(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.key = ""

    async def _tell(self, clients: list[Client], key: str) -> None:
        frame = listen_key_expired(key)
        for client in clients:
            await client.send(frame)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
