"""What processes cost, read from ``/proc``: CPU seconds per process and per thread, RSS and
PSS, a process with its descendants, and the mean cores a set of processes kept busy."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """utime + stime of *pid* (every thread), 0 when it is gone."""
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def cpu_seconds_of(stat: Path) -> float:
    """utime + stime from a ``/proc`` stat file (a process's or one thread's)."""
    try:
        text = stat.read_text()
    except OSError:
        return 0.0
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parent_of(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def process_tree(root: int) -> list[int]:
    """*root* and all its descendants (Kamailio forks its workers)."""
    parents = {
        int(p.name): parent_of(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()
    }
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        tree += frontier
    return tree


def proc_number(pid: int, name: str, table: str = "status") -> int:
    """The number on a ``name:`` line of ``/proc/<pid>/status`` (VmRSS in kB, Threads) or
    ``smaps_rollup`` (Pss, Rss in kB); 0 when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/{table}").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_kib(pid: int) -> int:
    return proc_number(pid, "VmRSS")


def pss_kib(pid: int) -> int:
    return proc_number(pid, "Pss", "smaps_rollup")


def thread_count(pid: int) -> int:
    return proc_number(pid, "Threads")


def total_cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def thread_label(pid: int, tid: int, comm: str) -> str:
    """Python threads share the name ``python``; the main one is the worker's pjsua2 loop."""
    if tid == pid:
        return "main"
    return "other python" if comm == "python" else comm


def threads_cpu(pids: Sequence[int]) -> dict[str, float]:
    """CPU seconds per thread label, summed over *pids* (pjmedia names its C threads)."""
    totals: dict[str, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                comm = (task / "comm").read_text().strip()
                label = thread_label(pid, int(task.name), comm)
                totals[label] = totals.get(label, 0.0) + cpu_seconds_of(task / "stat")
    return totals


@dataclass
class CpuWindow:
    """CPU seconds spent by a set of processes over a wall-clock window."""

    pids: Callable[[], list[int]]
    started: float = 0.0
    cpu0: float = 0.0
    threads0: dict[str, float] = field(default_factory=dict)

    def start(self) -> None:
        self.started, self.cpu0 = time.monotonic(), total_cpu(self.pids())
        self.threads0 = threads_cpu(self.pids())

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def cores(self) -> float:
        """Mean cores busy since `start`."""
        return (total_cpu(self.pids()) - self.cpu0) / self.elapsed()

    def thread_cores(self) -> dict[str, float]:
        """Mean cores busy since `start`, per thread label."""
        now, wall = threads_cpu(self.pids()), self.elapsed()
        return {label: (cpu - self.threads0.get(label, 0.0)) / wall for label, cpu in now.items()}
