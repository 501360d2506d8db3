"""Print a run's figures as a table and keep them as JSON under bench/results/."""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.run import ROOT, Options

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

RESULTS = ROOT / "bench" / "results"
TARGETS = {
    "throughput_per_s": 50_000,
    "decision_p99_ms_at_20k": 10,
    "bytes_per_rule": 300,
    "load_seconds_1m": 10,
    "baseline_ratio": 100,
}


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    with open("/proc/cpuinfo") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "?")
    return {
        "cpu": model,
        "cores": len(__import__("os").sched_getaffinity(0)),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def commit() -> str:
    """The checked-out commit (with -dirty when the tree has changes)."""
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def save(opts: DataclassInstance, result: dict[str, Any], kind: str = "") -> Path:
    """Write the run as JSON (named by its time, and its kind if given); return the file."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    doc = {
        "when": stamp,
        "machine": machine(),
        "commit": commit(),
        "parameters": asdict(opts),
        "targets": TARGETS,
        "figures": result,
    }
    path = RESULTS / (f"{stamp}-{kind}.json" if kind else f"{stamp}.json")
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    return path


def table(opts: Options, result: dict[str, Any]) -> str:
    """The human-readable summary of a run."""
    mix = f" + {opts.moves:,} move + {opts.margins:,} margin" if opts.moves or opts.margins else ""
    rows = [
        ("venue (ticker frames)", opts.venue),
        ("rules / markets / evaluators / notifiers / partitions",
         f"{opts.rules:,}{mix} / {opts.markets:,} / {opts.workers} / {opts.notifiers}"
         f" / {opts.partitions}"),
        ("rules load (worker): seconds", f"{result['load']['seconds']:.2f}"),
        ("worker memory per rule: bytes", f"{result['load']['bytes_per_rule']:.0f}"),
        ("fired / expected (once-rules)", f"{result['fired']:,} / {result['fires_expected']:,}"),
        ("notifications delivered (s after the load)",
         f"{result['notified']:,} ({result['all_notified_after_load_s']})"),
    ]  # fmt: skip
    for i, p in enumerate(result["phases"]):
        d, e = p["decision_ms"], p["enqueued_ms"]
        rows += [
            (f"phase {i + 1}: offered rate (sent by generator)",
             f"{p['rate']:,}/s for {p['seconds']:.0f}s "
             f"({p['sent'] / max(p['sent_seconds'], 1e-9):,.0f}/s)"),
            ("  into Redis (watcher) / evaluated (workers)",
             f"{p['into_redis_per_s']:,.0f}/s / {p['evaluated_per_s']:,.0f}/s"),
            ("  watcher: ticks per CPU second (CPU s used)",
             f"{p['ticks_per_watcher_cpu_s']:,.0f}/s ({p['watcher_cpu_s']})"),
            ("  host CPUs: % busy / idle / stolen",
             " / ".join(str(p["host_cpu_pct"].get(k)) for k in ("busy", "idle", "steal"))),
            ("  backlog max / at end / slope 2nd half",
             f"{p['backlog_max']:,} / {p['backlog_end']:,} / {p['backlog_slope_per_s']:+,}/s"),
            ("  tick->decision ms p50 / p99 / max (bucket bounds)",
             f"{d.get('p50')} / {d.get('p99')} / {d.get('max')}"),
            ("  tick->notify enqueued ms p50 / p99",
             f"{e.get('p50')} / {e.get('p99')} (n={e.get('count')})"),
        ]  # fmt: skip
    for name, u in result["processes"].items():
        rows.append(
            (f"peak RSS {name} (cpu s)", f"{u['peak_rss'] / 2**20:,.0f} MiB ({u['cpu_s']})")
        )
    rows.append(("Redis memory used / peak",
                 f"{result['redis_memory']['used'] / 2**20:,.0f} / "
                 f"{result['redis_memory']['peak'] / 2**20:,.0f} MiB"))  # fmt: skip
    b = result["baseline"]
    best = max(p["evaluated_per_s"] for p in result["phases"])
    ratio = best / b["evaluated_per_s"] if b["evaluated_per_s"] else float("inf")
    rows += [
        ("baseline: one rq job per tick, forking worker", f"{b['evaluated_per_s']:,}/s"),
        ("klaxon / baseline throughput", f"{ratio:,.0f}x"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)
