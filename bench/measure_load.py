"""Load rule files exactly as a worker does, in a fresh process: seconds and bytes per rule.

Run as `python -m bench.measure_load RULES.yaml`; prints one JSON object.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

from bench.procs import self_rss


def main(argv: list[str]) -> int:
    """Print {"rules", "seconds", "rss_before", "rss_after", "bytes_per_rule"} as JSON."""
    from workers import context
    from workers.service import load

    paths = [Path(a) for a in argv]
    gc.collect()
    before = self_rss()
    started = time.perf_counter()
    load(paths)
    seconds = time.perf_counter() - started
    gc.collect()
    after = self_rss()
    ruleset = context.current().ruleset
    rules = ruleset.count()
    print(json.dumps({
        "rules": rules, "seconds": round(seconds, 3), "rss_before": before, "rss_after": after,
        "bytes_per_rule": round((after - before) / max(1, rules), 1),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
