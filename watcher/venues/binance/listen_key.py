"""An account's listen key: the user data stream's URL holds it, and it lives 60 minutes.

Before every connect the key is asked for again (POST answers the active key, extended by 60
minutes, or a new one after it expired); while the feed runs, a thread extends it every 30
minutes (PUT). When Binance lets it expire anyway, the stream receives `listenKeyExpired`,
reconnects, and the next connect gets a new key. A keepalive that fails is a Trouble for the
watcher's monitor to report (`listen_key`) until a keepalive passes or a connect gets a key.
https://developers.binance.com/docs/derivatives/usds-margined-futures/user-data-streams
"""

from __future__ import annotations

import logging
import threading
import time

from watcher.errors import ExchangeError
from watcher.venues import Trouble
from watcher.venues.binance.rest import BinanceRest

log = logging.getLogger(__name__)

KEEPALIVE_INTERVAL = 30 * 60.0  # seconds; Binance closes a key 60 minutes after its last one
RETRY_INTERVAL = 60.0  # after a failed keepalive


class ListenKeys:
    """Gets the listen key for each connect and keeps it alive from a thread of its own."""

    def __init__(
        self,
        rest: BinanceRest,
        stream_url: str,
        interval: float = KEEPALIVE_INTERVAL,
        retry: float = RETRY_INTERVAL,
    ) -> None:
        self.interval = interval
        self.retry = retry
        self.keepalives = 0  # keepalives Binance accepted
        self._rest = rest
        self._base = stream_url.rstrip("/")
        self._key = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._trouble: Trouble | None = None

    def __repr__(self) -> str:
        return f"ListenKeys(venue={self._rest.venue!r}, interval={self.interval:g})"

    @property
    def key(self) -> str:
        """The key of the last connect ("" before the first): a secret, for redaction only."""
        return self._key

    def trouble(self) -> Trouble | None:
        """Return since when keepalives have failed, or None (asked by the watcher's monitor)."""
        return self._trouble

    def url(self) -> str:
        """Return the user data stream's URL with the account's listen key; start keepalives."""
        key = self._rest.create_listen_key()
        with self._lock:
            self._key = key
            self._trouble = None  # a key that lives 60 minutes from now
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._keep_alive, name=f"{self._rest.venue}-listen-key", daemon=True
                )
                self._thread.start()
        return f"{self._base}/ws/{key}"

    def stop(self) -> None:
        """Stop the keepalives (the key then expires on its own within 60 minutes)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _keep_alive(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                alive = self._rest.keepalive_listen_key(self._key)
            except ExchangeError as exc:
                wait = min(self.retry, self.interval)
                self._failed(f"could not extend the listen key ({type(exc).__name__})")
                log.warning(
                    "%s: could not extend the listen key (%s: %s); retrying in %gs",
                    self._rest.venue,
                    type(exc).__name__,
                    exc,
                    wait,
                )
                continue
            if alive:
                self.keepalives += 1
                self._trouble = None
            else:  # Binance sends listenKeyExpired; the reconnect then gets a new key
                self._failed("the listen key expired before it was extended")
                log.warning("%s: the listen key expired", self._rest.venue)

    def _failed(self, detail: str) -> None:
        """Record a failed keepalive: the trouble began at the first of a run of them."""
        since = self._trouble.since if self._trouble is not None else time.monotonic()
        self._trouble = Trouble("listen_key", since, f"{self._rest.venue}: {detail}")
