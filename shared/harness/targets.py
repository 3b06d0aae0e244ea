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

import redis

from shared.runtime.validation import WS_MAX_MESSAGE_BYTES, ws_ping_settings

TARGETS_PATH = Path(__file__).with_name("targets.toml")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_PATH = "/json"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
SERVICES = ("redis",)  # what a target can require beside it: `requires` in targets.toml


@dataclass(frozen=True)
class Target:
    """One way of serving one app: a command line with placeholders."""

    name: str
    app: Literal["aiohttp", "django"]
    server: str
    command: tuple[str, ...]
    prepare: tuple[tuple[str, ...], ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    # Processes that run beside the server for as long as it runs (Django's heartbeat, its
    # task worker): started after `prepare`, before the server; stopped after it.
    companions: tuple[tuple[str, ...], ...] = ()
    ready_path: str = READY_PATH  # the server is ready once this path answers at all
    # Services it cannot run without (SERVICES): without them its tests are reported as not run.
    requires: tuple[str, ...] = ()
    # How long it holds a hostile client, in seconds, by http.toml rule: its documented timeout.
    holds: Mapping[str, float] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """Its `env`, {redis_url} filled: REDIS_URL from the environment, or DEFAULT_REDIS_URL."""
        return {name: value.format(redis_url=redis_url()) for name, value in self.env.items()}

    def unavailable(self) -> str | None:
        """Why it cannot run here, if a service it requires does not answer."""
        if "redis" not in self.requires:
            return None
        client = redis.Redis.from_url(redis_url(), socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        except redis.RedisError as error:
            return (
                f"{self.name} needs Redis, and none answers at {redis_url()} ({error}):"
                " start redis-server, or set REDIS_URL"
            )
        finally:
            client.close()
        return None

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
                companions=tuple(tuple(argv) for argv in entry.get("companions", ())),
                requires=tuple(entry.get("requires", ())),
                holds=dict(entry.get("holds", {})),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"{path}: target {name!r}: bad or missing field {error}") from None
        if "lacks" in entry:
            raise ValueError(
                f"{path}: target {name!r}: `lacks` is declared in shared/harness/expected.toml"
            )
        if targets[name].app not in ("aiohttp", "django"):
            raise ValueError(f"{path}: target {name!r}: app must be 'aiohttp' or 'django'")
        if unknown := set(targets[name].requires) - set(SERVICES):
            raise ValueError(
                f"{path}: target {name!r}: requires {sorted(unknown)}; known: {SERVICES}"
            )
    return targets


def redis_url() -> str:
    """The Redis that targets requiring one use: REDIS_URL, or Redis on this machine."""
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


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
        root: Path = PROJECT_ROOT,
    ) -> None:
        self.target = target
        self.root = root  # where the apps are imported from: a changed copy, for the exercises
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **target.environment(), **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.companions: list[subprocess.Popen[bytes]] = []
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
                cwd=self.root, env=self.env, stdout=out, stderr=out, check=True,
            )  # fmt: skip
        self.companions = [self._spawn(argv, out) for argv in self.target.companions]
        self.process = self._spawn(self.target.command, out)
        self._wait_ready(timeout)
        return self

    def _spawn(self, argv: tuple[str, ...], out: IO[bytes] | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.target.fill(argv, self.host, self.port, self.env),
            cwd=self.root,
            env=self.env,
            stdout=out,
            stderr=out,
            start_new_session=True,  # Ctrl-C in a terminal reaches the supervisor, not the server
        )

    @property
    def running(self) -> bool:
        """The server and each of its companions are still running."""
        processes = [self.process, *self.companions]
        return all(process is not None and process.poll() is None for process in processes)

    def _exited(self) -> str | None:
        """What exited, if the server or a companion did."""
        assert self.process is not None
        for process in [self.process, *self.companions]:
            if process.poll() is not None:
                # Popen types args as whatever it may be given; _spawn gives it fill()'s list.
                argv = cast(list[str], process.args)
                what = " ".join(argv[1:]) if process is not self.process else ""
                name = f"{self.target.name}'s companion `{what}`" if what else self.target.name
                return f"{name} exited with {process.returncode}"
        return None

    def answers(self, timeout: float = 2.0) -> bool:
        """Its ready path answers at all within `timeout` (what it answers is for the tests)."""
        try:
            with urllib.request.urlopen(self.base_url + self.target.ready_path, timeout=timeout):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if exited := self._exited():
                self.stop()
                raise RuntimeError(f"{exited} before it answered\n{self.log_tail()}")
            if self.answers():
                return
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(
            f"{self.target.name} did not answer within {timeout} s\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`, server then companions; the server's exit code."""
        if self.process is None:
            return None
        for process in [self.process, *reversed(self.companions)]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
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
