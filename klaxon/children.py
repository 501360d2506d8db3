"""Child processes of `klaxon run`: started in their own session, stopped together, none left."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this child if `klaxon run` dies without cleaning up."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the orderly shutdown below still stops the children


class Children:
    """A group of named child processes, stopped in reverse start order."""

    def __init__(self) -> None:
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        """Start `argv` as a child in its own session (Ctrl-C reaches only us)."""
        proc = subprocess.Popen(  # noqa: S603 - argv is our own klaxon command line
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.procs.append((name, proc))
        log.debug("started %s (pid %d)", name, proc.pid)

    def klaxon(self, name: str, args: Sequence[str], env: Mapping[str, str]) -> None:
        """Start a `klaxon ARGS...` child with this interpreter."""
        self.spawn(name, [sys.executable, "-m", "klaxon", *args], env)

    def dead(self) -> list[str]:
        """Names and exit codes of children that have exited."""
        return [f"{n} (exit {p.returncode})" for n, p in self.procs if p.poll() is not None]

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every child (newest first), wait, SIGKILL whatever is left."""
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, proc in reversed(self.procs):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0fs: killing it", name, timeout)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()
