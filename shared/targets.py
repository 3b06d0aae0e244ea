"""The target registry (targets.toml), and a target running as a real server process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Literal, Self, cast

from shared.validation import WS_MAX_MESSAGE_BYTES, ws_ping_settings

TARGETS_PATH = Path(__file__).with_name("targets.toml")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_PATH = "/json"


@dataclass(frozen=True)
class Target:
    """One way of serving one app: a command line with placeholders."""

    name: str
    app: Literal["aiohttp", "django"]
    server: str
    command: tuple[str, ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def fill(
        self, argv: tuple[str, ...], host: str, port: int, env: Mapping[str, str]
    ) -> list[str]:
        interval, timeout = ws_ping_settings(env)
        values = {
            "python": sys.executable,
            "host": host,
            "port": str(port),
            "ws_max_bytes": str(WS_MAX_MESSAGE_BYTES),
            "ws_ping_interval": f"{interval:g}",
            "ws_ping_timeout": f"{timeout:g}",
        }
        return [arg.format(**values) for arg in argv]


def load_targets(path: Path = TARGETS_PATH) -> dict[str, Target]:
    """Read the registry; a malformed entry fails with the file and the target named."""
    targets: dict[str, Target] = {}
    for name, entry in tomllib.loads(path.read_text(encoding="utf-8")).items():
        try:
            targets[name] = Target(
                name=name,
                app=entry["app"],
                server=entry["server"],
                command=tuple(entry["command"]),
                prepare=tuple(tuple(argv) for argv in entry.get("prepare", ())),
                env=dict(entry.get("env", {})),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: target {name!r}: bad or missing field {error}") from None
        if targets[name].app not in ("aiohttp", "django"):
            raise ValueError(f"{path}: target {name!r}: app must be 'aiohttp' or 'django'")
    return targets


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (the server binds it right after)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return cast(int, sock.getsockname()[1])


class Server:
    """A target running as a real subprocess; a context manager that waits until it answers."""

    def __init__(
        self,
        target: Target,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.target = target
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **target.env, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def _output(self) -> IO[bytes] | None:
        if self.log_path is not None and self._log is None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        return self._log

    def start(self, timeout: float = 30.0) -> Self:
        out = self._output()
        for argv in self.target.prepare:
            subprocess.run(
                self.target.fill(argv, self.host, self.port, self.env),
                cwd=PROJECT_ROOT, env=self.env, stdout=out, stderr=out, check=True,
            )  # fmt: skip
        self.process = subprocess.Popen(
            self.target.fill(self.target.command, self.host, self.port, self.env),
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C in a terminal reaches the supervisor, not the server
        )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.target.name} exited with {self.process.returncode} before it answered"
                    f"\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.base_url + READY_PATH, timeout=2):
                    return
            except urllib.error.HTTPError:
                return  # it answers; what it answers is for the tests to judge
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(
            f"{self.target.name} did not answer within {timeout} s\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def log_tail(self, lines: int = 200) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log file: output went to the terminal)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
