"""The machine, the versions, CPU pinning, and a server's CPU time and memory (psutil)."""

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

import psutil

PACKAGES = (
    "aiohttp", "Django", "channels", "daphne", "uvicorn", "hypercorn", "uvloop", "httptools",
    "wsproto", "websockets", "asgiref", "Twisted", "SQLAlchemy", "httpx", "gunicorn", "granian",
    "matplotlib", "py-spy", "psutil",
)  # fmt: skip


def cpu_model() -> str:
    """The model name of /proc/cpuinfo: psutil has none."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return "unknown"


def machine() -> dict[str, object]:
    """CPU model, cores, memory, kernel and load: what the numbers were measured on."""
    return {
        "cpu_model": cpu_model(),
        "cores": psutil.cpu_count(),
        "usable_cpus": sorted(psutil.Process().cpu_affinity()),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": [round(x, 2) for x in psutil.getloadavg()],
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
    cpus: tuple[int, ...] = ()  # every CPU this process may use: where nothing pinned runs

    @classmethod
    def plan(cls, workers: int, enabled: bool = True, cpus: Sequence[int] | None = None) -> Pinning:
        """Servers on `workers` CPUs of `cpus` (default: those this process may use), the load
        on the others; nothing pinned when no CPU would be left for the load."""
        usable = tuple(sorted(psutil.Process().cpu_affinity() if cpus is None else cpus))
        if not enabled:
            return cls((), (), "not pinned (--no-pin)", usable)
        if len(usable) <= workers:
            return cls(
                (), (), f"not pinned: {len(usable)} CPUs for {workers} server processes + load",
                usable,
            )  # fmt: skip
        server, load = usable[:workers], usable[workers:]
        return cls(
            server,
            load,
            f"servers on CPU {','.join(map(str, server))}, load generator and upstream service"
            f" on CPU {','.join(map(str, load))}",
            usable,
        )

    @contextmanager
    def on(self, cpus: Sequence[int]) -> Iterator[None]:
        """Run the block (and every process it starts) on `cpus`; then back to the load CPUs."""
        if cpus:
            psutil.Process().cpu_affinity(list(cpus))
        try:
            yield
        finally:
            self.use_load()

    def use_load(self) -> None:
        """This process (and what it starts next) on the load's CPUs; on every CPU it may use
        when nothing is pinned."""
        if self.load or self.cpus:
            psutil.Process().cpu_affinity(list(self.load or self.cpus))


def process_tree(roots: Iterable[int]) -> list[psutil.Process]:
    """The processes and all their descendants (a multi-worker server's workers)."""
    tree: list[psutil.Process] = []
    for pid in roots:
        try:
            root = psutil.Process(pid)
            tree += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return tree


def cpu_times(processes: Iterable[psutil.Process]) -> dict[int, float]:
    """User + system CPU seconds of each process (all its threads) still running."""
    times: dict[int, float] = {}
    for process in processes:
        try:
            spent = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        times[process.pid] = spent.user + spent.system
    return times


def rss_bytes(processes: Iterable[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def settle(roots: Sequence[int], idle_pct: float = 10.0, limit: float = 60.0) -> float:
    """Wait until the server is idle (under `idle_pct` of a CPU for 0.25 s), at most `limit`
    seconds: a server still busy with the last scenario (a chat room's 1,000 members leaving)
    would otherwise be measured while it finishes that work. The seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = sum(cpu_times(process_tree(roots)).values())
        time.sleep(0.25)
        if (sum(cpu_times(process_tree(roots)).values()) - before) / 0.25 * 100 < idle_pct:
            break
    return round(time.perf_counter() - started, 2)


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


def resume(roots: Sequence[int], grace: float = 1.5) -> None:
    """SIGCONT each server's process group, its workers `grace` seconds before the processes that
    supervise them: a supervisor resumed first finds its workers silent for as long as they were
    stopped, and gunicorn's master kills a worker silent for over its --timeout (30 s) before the
    worker can say it is alive (it does every second)."""
    workers = [p for p in process_tree(roots) if p.pid not in roots]
    for worker in workers:
        try:
            worker.send_signal(signal.SIGCONT)
        except psutil.Error:
            pass
    if workers:
        time.sleep(grace)
    signal_groups(roots, signal.SIGCONT)


def raise_open_files_limit(wanted: int = 16384) -> int:
    """Lift the soft limit on open files toward the hard one: 1,000 sockets need more than 1024."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def children_cpu_seconds() -> float:
    """User + system CPU seconds of this process's children that have ended (wrk's runs)."""
    spent = psutil.Process().cpu_times()
    return spent.children_user + spent.children_system


def argv() -> list[str]:
    return [Path(sys.argv[0]).name, *sys.argv[1:]]


def busy_seconds() -> list[float]:
    """Each CPU's busy seconds since boot: all but idle and iowait (steal counts: a neighbour of
    the virtual machine took the core)."""
    return [
        sum(times) - times.idle - getattr(times, "iowait", 0.0)
        for times in psutil.cpu_times(percpu=True)
    ]


def others_pct(
    before: Sequence[float],
    after: Sequence[float],
    cpus: Sequence[int],
    own_cpu_seconds: float,
    seconds: float,
) -> float:
    """The share of `cpus` (percent of their time) that went to anything but our own processes,
    whose CPU seconds over the same `seconds` are `own_cpu_seconds`; never below 0 (the kernel
    counts busy time in ticks, our processes' time more finely)."""
    if seconds <= 0 or not cpus:
        return 0.0
    busy = sum(after[cpu] - before[cpu] for cpu in cpus)
    return max(0.0, 100 * (busy - own_cpu_seconds) / (seconds * len(cpus)))


def wait_until_idle(
    idle_pct: float, limit: float, window: float = 0.5
) -> tuple[float, float, bool]:
    """Wait until the whole machine is idle: every CPU together under `idle_pct` percent busy
    over `window` seconds, for at most `limit` seconds. The seconds waited, the last window's
    busy percent, and whether it was idle then."""
    started = time.perf_counter()
    busy = 100.0
    while True:
        before = busy_seconds()
        time.sleep(window)
        after = busy_seconds()
        spent = sum(a - b for a, b in zip(after, before, strict=True))
        busy = min(100.0, 100 * spent / (window * len(after)))  # ticks can round it over
        if busy < idle_pct or time.perf_counter() - started >= limit:
            break
    return round(time.perf_counter() - started, 2), round(busy, 1), busy < idle_pct


class Watch:
    """Each CPU's busy seconds and the time at the start and the end of a block."""

    def __init__(self) -> None:
        self.before: list[float] = []
        self.after: list[float] = []
        self.seconds = 0.0

    def __enter__(self) -> Watch:
        self.before, self._started = busy_seconds(), time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after, self.seconds = busy_seconds(), time.perf_counter() - self._started

    def others_pct(self, cpus: Sequence[int], own_cpu_seconds: float) -> float:
        return others_pct(self.before, self.after, cpus, own_cpu_seconds, self.seconds)
