"""The simulator's server: each venue on its own port (WS, REST and /sim/*), all in one thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING

from aiohttp import web

from simulator import control, faults
from simulator.config import SimConfig
from simulator.protocol import VenueProtocol
from simulator.registry import PROTOCOLS, protocol_class

if TYPE_CHECKING:
    from simulator.tls import Certificates
from simulator.venue import VENUE_KEY, Venue

log = logging.getLogger("simulator")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0


def build_app(venue: Venue) -> web.Application:
    """Returns the aiohttp application of one venue: its protocol's routes and /sim/*."""
    app = web.Application(middlewares=[control.loopback_only, faults.inject])
    app[VENUE_KEY] = venue
    app[faults.FAULTS_KEY] = faults.Faults()
    venue.protocol.add_routes(app)
    control.add_routes(app)
    return app


@dataclass(frozen=True)
class Endpoint:
    """Where one hosted venue answers: REST and /sim/* at base_url, each feed at ws_url(feed)."""

    venue: str
    host: str
    port: int
    feeds: Mapping[str, str]  # feed name -> path
    tls_port: int = 0  # 0: no https:// and wss://

    @property
    def base_url(self) -> str:
        """Returns the REST (and control API) root, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def ws_url(self, feed: str) -> str:
        """Returns the websocket URL of one of the venue's feeds."""
        return f"ws://{self.host}:{self.port}{self.feeds[feed]}"

    @property
    def ws_public_url(self) -> str:
        """Returns the URL of the feed named "public"."""
        return self.ws_url("public")

    @property
    def ws_private_url(self) -> str:
        """Returns the URL of the feed named "private"."""
        return self.ws_url("private")

    @property
    def https_url(self) -> str:
        """Returns the REST root over TLS (the simulator's certificates say whom to trust)."""
        return f"https://{self.host}:{self._tls()}"

    def wss_url(self, feed: str) -> str:
        """Returns the websocket URL of one of the venue's feeds over TLS."""
        return f"wss://{self.host}:{self._tls()}{self.feeds[feed]}"

    def describe(self) -> str:
        """Returns the one line `serve_forever` prints for this venue."""
        feeds = "  ".join(f"ws {self.ws_url(feed)}" for feed in self.feeds)
        if self.tls_port:
            feeds += "  " + "  ".join(f"wss {self.wss_url(feed)}" for feed in self.feeds)
        return (
            f"klaxon simulator {self.venue}: rest {self.base_url}  {feeds}  "
            f"control {self.base_url}/sim/state"
        )

    def _tls(self) -> int:
        if not self.tls_port:
            raise RuntimeError(f"the simulated {self.venue} serves no TLS (SimConfig.tls)")
        return self.tls_port


class Simulator:
    """Simulated venues on loopback, each on its own port, served from one background thread.

    The properties base_url, ws_public_url, ws_private_url and port are the first venue's;
    endpoint(name) gives any venue's. `protocols` is the registry to find the venues in.
    """

    def __init__(
        self,
        config: SimConfig,
        *more: SimConfig,
        protocols: Mapping[str, type[VenueProtocol]] = PROTOCOLS,
    ) -> None:
        self.configs = (config, *more)
        self.config = config
        names = [c.venue for c in self.configs]
        if len(set(names)) != len(names):
            raise ValueError(f"each venue is served once; got {names}")
        # Built here so that a bad config fails in the caller's thread, with its message.
        self.venues = [Venue(c, protocol_class(c.venue, protocols)(c)) for c in self.configs]
        self.certificates: Certificates | None = None  # of the venues with `tls`
        tls_hosts = [c.host for c in self.configs if c.tls]
        if tls_hosts:
            from simulator.tls import make_certificates

            self.certificates = make_certificates(tls_hosts[0])
        self.endpoints: dict[str, Endpoint] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None

    def endpoint(self, venue: str | None = None) -> Endpoint:
        """Returns where a venue (by default the first) answers, once started."""
        name = self.config.venue if venue is None else venue
        if name not in self.endpoints:
            raise RuntimeError(f"the simulator serves no venue {name!r} (or has not started)")
        return self.endpoints[name]

    @property
    def port(self) -> int:
        """Returns the first venue's port (0 before start)."""
        found = self.endpoints.get(self.config.venue)
        return found.port if found is not None else 0

    @property
    def base_url(self) -> str:
        """Returns the first venue's REST (and control API) root, e.g. http://127.0.0.1:PORT."""
        return self.endpoint().base_url

    @property
    def ws_public_url(self) -> str:
        """Returns the first venue's public websocket URL."""
        return self.endpoint().ws_public_url

    @property
    def ws_private_url(self) -> str:
        """Returns the first venue's private websocket URL."""
        return self.endpoint().ws_private_url

    def start(self) -> Simulator:
        """Starts serving in a background thread and returns once every venue is listening."""
        if self._thread is not None:
            raise RuntimeError("this Simulator was already started")
        self._thread = threading.Thread(target=self._run, name="klaxon-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the simulator did not start within {START_TIMEOUT_S:g} s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT_S)
            raise RuntimeError(f"the simulator cannot listen: {self._error}")
        if len(self.endpoints) != len(self.venues):
            raise RuntimeError("the simulator thread ended before listening (see its traceback)")
        return self

    def stop(self) -> None:
        """Closes every connection, stops the servers and joins their thread."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None and not loop.is_closed():
            # The loop may close in between: the thread is ending anyway then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        thread.join(STOP_TIMEOUT_S)
        if thread.is_alive():
            raise RuntimeError(f"the simulator thread did not stop within {STOP_TIMEOUT_S:g} s")

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        finally:
            self._ready.set()  # never leave start() waiting, whatever happened

    async def _listen(self, venue: Venue) -> web.AppRunner:
        config = venue.config
        runner = web.AppRunner(
            build_app(venue), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        port = config.port
        try:
            await web.TCPSite(runner, config.host, port).start()
            if config.tls and self.certificates is not None:
                port = config.tls_port
                context = self.certificates.server_context()
                await web.TCPSite(runner, config.host, port, ssl_context=context).start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(f"{config.venue} on {config.host}:{port}: {exc}") from exc
        ports = [int(address[1]) for address in runner.addresses]
        self.endpoints[config.venue] = Endpoint(
            config.venue, config.host, ports[0], venue.protocol.feeds, ports[1] if config.tls else 0
        )
        return runner

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        runners: list[web.AppRunner] = []
        try:
            for venue in self.venues:
                runners.append(await self._listen(venue))
        except OSError as exc:
            self._error = exc
            for runner in runners:
                await runner.cleanup()
            return
        for venue in self.venues:
            await venue.start()
        for endpoint in self.endpoints.values():
            log.info("simulator listening: %s", endpoint.describe())
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            for venue in self.venues:
                await venue.stop()
            for runner in runners:
                await runner.cleanup()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_forever(config: SimConfig, *more: SimConfig, ca_file: Path | None = None) -> None:
    """Runs the simulated venues until SIGINT or SIGTERM, after printing a line of URLs each;
    with TLS, writes the CA that clients must trust to `ca_file` and names it."""
    with Simulator(config, *more) as sim:
        # Both signals end the wait below the same way, even where SIGINT arrived ignored;
        # handled before the URLs are printed: whoever reads them may signal at once.
        in_main = threading.current_thread() is threading.main_thread()
        handled = (signal.SIGINT, signal.SIGTERM) if in_main else ()
        previous = {signum: signal.signal(signum, _interrupt) for signum in handled}
        try:
            for endpoint in sim.endpoints.values():
                print(endpoint.describe(), flush=True)
            if sim.certificates is not None and ca_file is not None:
                written = sim.certificates.write_ca(ca_file)
                print(f"klaxon simulator: https/wss clients trust the CA in {written}", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            log.info("simulator stopping")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
