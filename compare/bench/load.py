"""Load generators: wrk (Debian's package) with report.lua, else a built-in asyncio one."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlencode

from compare.bench.system import children_cpu_seconds

LUA_SCRIPT = Path(__file__).with_name("report.lua")


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


class Generator(Protocol):
    name: str

    def describe(self) -> str: ...

    def run(
        self, base_url: str, load: HttpLoad, connections: int, seconds: float, timeout: float
    ) -> LoadResult: ...


class Wrk:
    """wrk with one thread (the load has one CPU), report.lua counting unexpected statuses.
    wrk takes whole seconds: a duration is rounded to one (at least 1 s)."""

    name = "wrk"

    def __init__(self, executable: str) -> None:
        self.executable = executable

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


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of samples in seconds, as milliseconds (nearest rank)."""
    if not samples:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, math.ceil(p * len(ordered) / 100) - 1))]

    return {
        "p50": rank(50) * 1000,
        "p90": rank(90) * 1000,
        "p99": rank(99) * 1000,
        "max": ordered[-1] * 1000,
    }


class HttpConnection:
    """A raw HTTP/1.1 keep-alive connection over asyncio streams: as little client as possible."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def send(self, request: bytes) -> None:
        assert self.writer is not None
        self.writer.write(request)

    async def receive(self, head_only: bool = False) -> int:
        """Read one response; its status. The connection is closed if the server said so."""
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = head.lower()
        if head_only:
            pass
        elif b"\r\ntransfer-encoding: chunked" in headers:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif (at := headers.find(b"\r\ncontent-length:")) >= 0:
            length = int(headers[at + 17 : headers.index(b"\r\n", at + 2)])
            await self.reader.readexactly(length)
        elif b"\r\nconnection: close" in headers or not head.startswith(b"HTTP/1.1"):
            await self.reader.read()
            self.close()
        if b"\r\nconnection: close" in headers:
            self.close()
        return status


def raw_request(load: HttpLoad, host: str, port: int) -> bytes:
    headers = {"Host": f"{host}:{port}", **load.headers}
    if load.body is not None:
        headers["Content-Length"] = str(len(load.body))
    head = f"{load.method} {load.path} HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + (load.body or b"")


def split_url(base_url: str) -> tuple[str, int]:
    host, _, port = base_url.removeprefix("http://").rstrip("/").rpartition(":")
    return host, int(port)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (it is, with uvicorn[standard]): a faster client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class AsyncioHttp:
    """The built-in generator: `connections` raw keep-alive connections on one uvloop loop."""

    name = "asyncio"

    def describe(self) -> str:
        return "built-in asyncio generator (raw HTTP/1.1 over asyncio streams, uvloop)"

    def run(
        self, base_url: str, load: HttpLoad, connections: int, seconds: float, timeout: float
    ) -> LoadResult:
        cpu = time.process_time()
        result = asyncio.run(
            self.measure(base_url, load, connections, seconds, timeout),
            loop_factory=new_event_loop,
        )
        result.generator_cpu_seconds = time.process_time() - cpu
        return result

    async def measure(
        self, base_url: str, load: HttpLoad, connections: int, seconds: float, patience: float
    ) -> LoadResult:
        host, port = split_url(base_url)
        request = raw_request(load, host, port)
        errors = dict.fromkeys(("unexpected_status", "connect", "read", "write", "timeout"), 0)
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            connection = HttpConnection(host, port)
            while time.perf_counter() < deadline:
                if connection.writer is None:
                    try:
                        await asyncio.wait_for(connection.open(), patience)
                    except (OSError, TimeoutError):
                        errors["connect"] += 1
                        await asyncio.sleep(0.01)
                        continue
                sent = time.perf_counter()
                try:
                    connection.send(request)
                    async with asyncio.timeout(patience):
                        status = await connection.receive(head_only=load.method == "HEAD")
                except TimeoutError:
                    errors["timeout"] += 1
                    connection.close()
                    continue
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors["read"] += 1
                    connection.close()
                    continue
                latencies.append(time.perf_counter() - sent)
                if status != load.expect_status:
                    errors["unexpected_status"] += 1
            connection.close()

        await asyncio.gather(*(client() for _ in range(connections)))
        return LoadResult(
            requests=len(latencies),
            seconds=time.perf_counter() - started,
            errors=errors,
            latency_ms=percentiles(latencies),
            generator_cpu_seconds=0.0,
        )


def choose(name: str = "auto") -> Generator:
    """wrk when it is installed (or asked for), else the built-in generator."""
    if name in ("auto", "wrk"):
        if executable := shutil.which("wrk"):
            return Wrk(executable)
        if name == "wrk":
            raise RuntimeError("wrk is not installed: apt-get install -y wrk (or `make bench`)")
    return AsyncioHttp()
