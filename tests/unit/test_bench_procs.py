"""The benchmark's reading of a process's wait for a CPU (/proc/PID/task/*/schedstat) and of
the host's CPU time by state (/proc/stat)."""

from __future__ import annotations

import os
import time
from multiprocessing import get_context
from pathlib import Path

from bench.procs import HostTimes, host_shares, host_times, runq_seconds, usage
from tests.waiting import wait_until


def test_the_run_queue_wait_is_summed_over_threads(tmp_path: Path) -> None:
    for tid, line in (("11", "900 2000000000 5\n"), ("12", "40 500000000 2\n")):
        (tmp_path / tid).mkdir()
        (tmp_path / tid / "schedstat").write_text(line)
    (tmp_path / "13").mkdir()  # a thread that ended between the listing and the read
    assert runq_seconds(tmp_path) == 2.5


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _waited(pid: int) -> float:
    found = usage(pid)
    return found.runq_s if found is not None and found.runq_s >= 0.1 else 0.0


def test_a_process_that_waits_for_a_cpu_reads_so() -> None:
    # Three processes spinning on one CPU: each waits while the others run.
    cpu = min(os.sched_getaffinity(0))
    ctx = get_context("fork")
    procs = [ctx.Process(target=_spin, args=(2.0,)) for _ in range(3)]
    pids = []
    try:
        for proc in procs:
            proc.start()
            assert proc.pid is not None
            os.sched_setaffinity(proc.pid, {cpu})
            pids.append(proc.pid)
        assert wait_until(lambda: _waited(pids[0]), what="0.1 s waited for a CPU") >= 0.1
    finally:
        for proc in procs:
            proc.kill()
            proc.join()


def test_the_hosts_cpu_time_is_read_by_state_and_shared_out(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    # user nice system idle iowait irq softirq steal guest guest_nice, then a CPU's own line
    stat.write_text("cpu  100 5 40 800 10 2 3 40 7 0\ncpu0 50 2 20 400 5 1 1 20 3 0\n")
    before = host_times(stat)
    assert before == HostTimes(busy=150, idle=810, steal=40)
    after = HostTimes(busy=before.busy + 120, idle=before.idle + 60, steal=before.steal + 20)
    assert host_shares(before, after) == {"busy": 60.0, "idle": 30.0, "steal": 10.0}
    assert host_shares(before, before) == {"busy": 0.0, "idle": 0.0, "steal": 0.0}
    live = host_times()
    assert live.busy + live.idle > 0
