"""HTTP load: wrk (Debian's package), with report.lua for its errors and percentiles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from compare.bench.system import children_cpu_seconds

LUA_SCRIPT = Path(__file__).with_name("report.lua")


class WrkNotFound(RuntimeError):
    """The bench's HTTP load is wrk's, and there is no wrk to run."""


@dataclass(frozen=True)
class HttpLoad:
    """One request, sent over and over: what the main case of a behaviour boils down to."""

    method: str
    path: str  # with its query, percent-encoded
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    expect_status: int = 200

    @classmethod
    def of(
        cls,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        expect_status: int = 200,
    ) -> HttpLoad:
        target = path + (f"?{urlencode(dict(query))}" if query else "")
        return cls(method, target, dict(headers or {}), body, expect_status)

    def describe(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class LoadResult:
    requests: int  # responses received in the measured time, whatever their status
    seconds: float
    errors: dict[str, int]  # unexpected_status, connect, read, write, timeout
    latency_ms: dict[str, float]  # p50, p90, p99, max
    generator_cpu_seconds: float

    @property
    def rps(self) -> float:
        good = self.requests - self.errors.get("unexpected_status", 0)
        return good / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


class Wrk:
    """wrk with one thread (the load has one CPU), report.lua counting unexpected statuses.
    wrk takes whole seconds: a duration is rounded to one (at least 1 s)."""

    name = "wrk"

    def __init__(self, executable: str = "wrk") -> None:
        found = shutil.which(executable)
        if found is None:
            raise WrkNotFound(
                f"the bench's HTTP load comes from wrk, and {executable!r} is not found:"
                " install it with `apt-get install wrk` (or `make wrk` as root)"
            )
        self.executable = found

    def describe(self) -> str:
        return f"wrk ({self.executable}, 1 thread, {LUA_SCRIPT.name} for errors and percentiles)"

    def run(
        self, base_url: str, load: HttpLoad, connections: int, seconds: float, timeout: float
    ) -> LoadResult:
        with tempfile.NamedTemporaryFile(prefix="bench-body-") as body:
            if load.body is not None:
                body.write(load.body)
                body.flush()
            env = {
                **os.environ,
                "BENCH_METHOD": load.method,
                "BENCH_BODY_FILE": body.name if load.body is not None else "",
                "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in load.headers.items()),
                "BENCH_EXPECT_STATUS": str(load.expect_status),
            }
            argv = [
                self.executable, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                f"--timeout={timeout:g}s", "--latency", "-s", str(LUA_SCRIPT),
                base_url + load.path,
            ]  # fmt: skip
            cpu = children_cpu_seconds()
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            cpu = children_cpu_seconds() - cpu
        line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
        data = json.loads(line.removeprefix("BENCH_JSON "))
        return LoadResult(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            errors={
                k: data[k] for k in ("unexpected_status", "connect", "read", "write", "timeout")
            },
            latency_ms={p: data[f"{p}_us"] / 1000 for p in ("p50", "p90", "p99", "max")},
            generator_cpu_seconds=cpu,
        )
