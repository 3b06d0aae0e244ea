"""The machine, the versions, CPU pinning, and a server's CPU time and memory from /proc."""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PACKAGES = (
    "aiohttp", "Django", "channels", "daphne", "uvicorn", "hypercorn", "uvloop", "httptools",
    "wsproto", "websockets", "asgiref", "Twisted", "SQLAlchemy", "httpx", "gunicorn", "granian",
    "matplotlib", "py-spy",
)  # fmt: skip


def machine() -> dict[str, object]:
    """CPU model, cores, memory, kernel and load: what the numbers were measured on."""
    model = "unknown"
    cpuinfo = PROC / "cpuinfo"
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    memory_gib = None
    meminfo = PROC / "meminfo"
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, object]:
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
        wrk_version = (done.stdout or done.stderr).splitlines()[0].strip()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "packages": packages,
        "wrk": wrk_version,
    }


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the servers get and which the load generator gets; empty: not pinned."""

    server: tuple[int, ...]
    load: tuple[int, ...]
    note: str

    @classmethod
    def plan(cls, workers: int, enabled: bool = True) -> Pinning:
        cpus = sorted(os.sched_getaffinity(0))
        if not enabled:
            return cls((), (), "not pinned (--no-pin)")
        if len(cpus) <= workers:
            return cls(
                (), (), f"not pinned: {len(cpus)} CPUs for {workers} server processes + load"
            )
        server, load = tuple(cpus[:workers]), tuple(cpus[workers:])
        return cls(
            server,
            load,
            f"servers on CPU {','.join(map(str, server))}, load generator and upstream service"
            f" on CPU {','.join(map(str, load))}",
        )

    @contextmanager
    def on(self, cpus: Sequence[int]) -> Iterator[None]:
        """Run the block (and every process it starts) on `cpus`; then back to the load CPUs."""
        if cpus:
            os.sched_setaffinity(0, cpus)
        try:
            yield
        finally:
            self.use_load()

    def use_load(self) -> None:
        if self.load:
            os.sched_setaffinity(0, self.load)


def children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def process_tree(roots: Iterable[int]) -> list[int]:
    """The processes and all their descendants (a multi-worker server's workers)."""
    children = children_map()
    found: list[int] = []
    stack = list(roots)
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def cpu_times(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each process (all its threads)."""
    times: dict[int, float] = {}
    for pid in pids:
        try:
            fields = (PROC / str(pid) / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return times


def rss_bytes(pids: Iterable[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int((PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


@dataclass
class Usage:
    """CPU seconds and peak RSS of process trees over a measurement."""

    cpu_seconds: float = 0.0
    peak_rss_bytes: int = 0


class Sampler:
    """Samples the trees of `roots` every `interval` s in a thread: peak RSS; CPU by difference."""

    def __init__(self, roots: Sequence[int], interval: float = 0.1) -> None:
        self.roots = list(roots)
        self.interval = interval
        self.usage = Usage()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._start: dict[int, float] = {}
        self._last: dict[int, float] = {}

    def _sample(self) -> None:
        pids = process_tree(self.roots)
        self._last.update(cpu_times(pids))
        self.usage.peak_rss_bytes = max(self.usage.peak_rss_bytes, rss_bytes(pids))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Usage:
        self._start = cpu_times(process_tree(self.roots))
        self._sample()
        self._thread.start()
        return self.usage

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.usage.cpu_seconds = sum(
            seconds - self._start.get(pid, 0.0) for pid, seconds in self._last.items()
        )


def signal_groups(pids: Iterable[int], sig: signal.Signals) -> None:
    """Send `sig` to each process group (the servers run in sessions of their own)."""
    for pid in pids:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def raise_open_files_limit(wanted: int = 16384) -> int:
    """Lift the soft limit on open files toward the hard one: 1,000 sockets need more than 1024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def own_cpu_seconds() -> float:
    return time.process_time()


def children_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def argv() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]
