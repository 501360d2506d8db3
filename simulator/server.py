"""The simulator's server: one aiohttp port for WS and REST, run in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from types import FrameType, TracebackType

from aiohttp import web

from simulator import control, faults
from simulator.config import SimConfig
from simulator.connection import Client, serve
from simulator.okx import rest, rest_query
from simulator.okx.ws_private import on_private_text
from simulator.okx.ws_public import on_public_text
from simulator.venue import VENUE_KEY, Venue

log = logging.getLogger("simulator")
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 15.0


async def _public(request: web.Request) -> web.WebSocketResponse:
    venue = request.app[VENUE_KEY]

    async def on_text(client: Client, raw: str) -> None:
        await on_public_text(venue, client, raw)

    return await serve(request, venue.hub, "public", venue.config.idle_timeout, on_text)


async def _private(request: web.Request) -> web.WebSocketResponse:
    venue = request.app[VENUE_KEY]

    async def on_text(client: Client, raw: str) -> None:
        await on_private_text(venue, client, raw)

    return await serve(request, venue.hub, "private", venue.config.idle_timeout, on_text)


def build_app(venue: Venue) -> web.Application:
    """Returns the aiohttp application routing OKX's paths and /sim/*."""
    app = web.Application(middlewares=[control.loopback_only, faults.inject])
    app[VENUE_KEY] = venue
    app[faults.FAULTS_KEY] = faults.Faults()
    app.router.add_get("/ws/v5/public", _public)
    app.router.add_get("/ws/v5/private", _private)
    rest.add_routes(app)
    rest_query.add_routes(app)
    control.add_routes(app)
    return app


class Simulator:
    """A simulated OKX exchange on loopback, served from a background thread."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.port = 0
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: OSError | None = None

    @property
    def base_url(self) -> str:
        """Returns the REST (and control API) root, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_public_url(self) -> str:
        """Returns the public websocket URL."""
        return f"ws://{self.config.host}:{self.port}/ws/v5/public"

    @property
    def ws_private_url(self) -> str:
        """Returns the private websocket URL."""
        return f"ws://{self.config.host}:{self.port}/ws/v5/private"

    def start(self) -> Simulator:
        """Starts serving in a background thread and returns once it is listening."""
        if self._thread is not None:
            raise RuntimeError("this Simulator was already started")
        self._thread = threading.Thread(target=self._run, name="klaxon-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the simulator did not start within {START_TIMEOUT_S:g} s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT_S)
            where = f"{self.config.host}:{self.config.port}"
            raise RuntimeError(f"the simulator cannot listen on {where}: {self._error}")
        if not self.port:
            raise RuntimeError("the simulator thread ended before listening (see its traceback)")
        return self

    def stop(self) -> None:
        """Closes every connection, stops the server and joins its thread."""
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

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        venue = Venue(self.config)
        runner = web.AppRunner(
            build_app(venue), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except OSError as exc:
            self._error = exc
            await runner.cleanup()
            return
        self.port = int(runner.addresses[0][1])
        await venue.start()
        log.info("simulator listening on %s", self.base_url)
        self._ready.set()
        try:
            await self._stopping.wait()
        finally:
            await venue.stop()
            await runner.cleanup()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_forever(config: SimConfig) -> None:
    """Runs a simulator until SIGINT or SIGTERM, after printing one line with its URLs."""
    with Simulator(config) as sim:
        print(
            f"klaxon simulator: rest {sim.base_url}  ws {sim.ws_public_url}  "
            f"ws {sim.ws_private_url}  control {sim.base_url}/sim/state",
            flush=True,
        )
        # Both signals end the wait below the same way, even where SIGINT arrived ignored.
        in_main = threading.current_thread() is threading.main_thread()
        handled = (signal.SIGINT, signal.SIGTERM) if in_main else ()
        previous = {signum: signal.signal(signum, _interrupt) for signum in handled}
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            log.info("simulator stopping")
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
