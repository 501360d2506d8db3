"""What the benchmark reads about processes: RSS, peak RSS, CPU time and the time spent waiting
for a CPU, from /proc; and how the host's CPUs spent an interval, stolen time included."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    """One reading of a process: resident and peak resident memory, CPU seconds used, and
    seconds its threads were runnable but waited for a CPU (the run queue: on two cores shared
    by every process of a run, where a latency's tail goes)."""

    rss: int
    peak_rss: int
    cpu_s: float
    runq_s: float


def usage(pid: int) -> Usage | None:
    """Read a live process's memory and CPU; None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)

    def kib(name: str) -> int:
        return int(fields.get(name, "0 kB").split()[0]) * 1024

    cpu = (int(stat[11]) + int(stat[12])) / _TICKS  # utime + stime
    runq = runq_seconds(Path(f"/proc/{pid}/task"))
    return Usage(rss=kib("VmRSS"), peak_rss=kib("VmHWM"), cpu_s=cpu, runq_s=runq)


def runq_seconds(tasks: Path) -> float:
    """Sum the run-queue wait of every thread under `tasks` (a /proc/PID/task directory): the
    second field of each thread's schedstat, in ns. A thread gone meanwhile counts 0."""
    waited = 0
    for task in tasks.iterdir():
        try:
            waited += int((task / "schedstat").read_text().split()[1])
        except OSError:
            continue
    return waited / 1e9


@dataclass(frozen=True)
class HostTimes:
    """The host's CPU time since boot, all CPUs, by state, in clock ticks (/proc/stat)."""

    busy: int  # user, nice, system, irq, softirq (guest time is inside user)
    idle: int  # idle, iowait
    steal: int  # taken by the hypervisor for other guests: this machine's CPUs did not run


def host_times(stat: Path = Path("/proc/stat")) -> HostTimes:
    """Read the host's CPU times from the first line of `stat`."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(
        int, stat.read_text().split("\n", 1)[0].split()[1:9]
    )
    return HostTimes(user + nice + system + irq + softirq, idle + iowait, steal)


def host_shares(before: HostTimes, after: HostTimes) -> dict[str, float]:
    """Return each state's share, in %, of the CPU time between two readings."""
    parts = {
        "busy": after.busy - before.busy,
        "idle": after.idle - before.idle,
        "steal": after.steal - before.steal,
    }
    total = sum(parts.values()) or 1
    return {name: round(100 * ticks / total, 1) for name, ticks in parts.items()}


def self_rss() -> int:
    """This process's resident memory in bytes."""
    found = usage(os.getpid())
    return found.rss if found else 0


def stop_all(procs: Iterable[subprocess.Popen[bytes]], grace: float) -> None:
    """SIGTERM every process, then wait for each (SIGKILL one still alive after `grace` s)."""
    procs = list(procs)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
