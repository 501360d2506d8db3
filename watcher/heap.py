"""A long-lived process's start-up heap, out of the cyclic garbage collector's sight.

A worker holds its compiled rules for its whole life (a million price rules are tens of
millions of objects), the watcher what its start-up built (its venues, models, markets); each
full collection of Python's cyclic collector walks every one of them. Measured here: 120-140 ms
in each worker of bench --orders (10,000 order rules) and in the watcher of make bench, every
several seconds under load, each a pause in which no tick is published or evaluated. settle()
collects once and freezes what is alive (gc.freeze: later collections skip it), so a full
collection walks only what was allocated since. A worker settles again after each reload of
its rules, thawing and collecting first, or the old rules' reference cycles would never be
freed.

Only the services settle (enable(): `klaxon watch`, workers/service.py): tests and tools that
install rules keep the collector as it is.

A load of rules builds millions of objects and makes almost no garbage, yet each of the many
collections its allocations trigger walks what it has built so far: 57-65 % of the time
loading 11,000 YAML rules went to them (2.2-2.7 s; 0.93 s paused). Every load pauses the
collector (paused()); what it leaves behind is collected at the next collection or settle().
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_enabled = False


def enable() -> None:
    """Settle now, and at every later settle() of this process."""
    global _enabled
    _enabled = True
    settle()


def settle() -> None:
    """Collect once, then freeze every object alive (a no-op unless enabled)."""
    if not _enabled:
        return
    began = time.monotonic()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    log.info(
        "heap settled: %d objects frozen in %.0f ms",
        gc.get_freeze_count(),
        (time.monotonic() - began) * 1000,
    )


@contextmanager
def paused() -> Iterator[None]:
    """Keep the cyclic collector from running within the block; then as it was before."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
