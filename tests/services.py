"""Services a test starts for itself and takes away: a redis-server of its own on a free port."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Self

import pytest
import redis

from shared.harness.targets import free_port

STARTED_WITHIN = 10.0  # seconds for a service to answer once started


class RedisServer:
    """A redis-server on a port of its own, never the machine's: started, stopped and started
    again on the same port, as a Redis that restarts under a running app. Nothing is saved."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> Self:
        executable = shutil.which("redis-server")
        if executable is None:
            pytest.skip("not run: redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=self._log, stderr=self._log,
        )  # fmt: skip
        deadline = time.monotonic() + STARTED_WITHIN
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}: see {self._log}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None


@contextmanager
def private_redis(directory: Path) -> Iterator[RedisServer]:
    """A RedisServer started for the block, and stopped after it whatever the block did to it."""
    server = RedisServer(directory).start()
    try:
        yield server
    finally:
        server.stop()
