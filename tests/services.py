"""Services a test starts for itself and takes away: a redis-server and a PostgreSQL cluster of
its own, each on a free port, never the machine's."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Self

import psycopg
import pytest
import redis

from shared.harness.targets import free_port

STARTED_WITHIN = 30.0  # seconds for a service to answer once started


class Service:
    """A server process on a port of its own: started, stopped, and started again on the same
    port with the same files, as a service that restarts under a running app."""

    name = "service"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def prepare(self) -> None:
        """What the first start needs (a cluster's files)."""

    def remove(self) -> None:
        """What it leaves outside `directory`, removed once it is done with."""

    def executable(self, name: str) -> str:
        found = shutil.which(name)
        if found is None:
            pytest.skip(f"not run: {name} is not installed, for the test's own {self.name}")
        return found

    def start(self) -> Self:
        if self.process is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.prepare()
        self._log = (self.directory / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=self._log, stderr=self._log)
        deadline = time.monotonic() + STARTED_WITHIN
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = (self.directory / f"{self.name}.log").read_text(errors="replace")
                pytest.fail(f"{self.name} did not start on port {self.port}:\n{log[-3000:]}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """SIGTERM (redis-server saves and exits; PostgreSQL's smart shutdown would wait for its
        clients, so it gets SIGINT, its fast shutdown: `pg_ctl stop -m fast`, Docker's)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            self.process.wait(30)
        if self._log is not None:
            self._log.close()
            self._log = None

    stop_signal = 15


class RedisServer(Service):
    """A redis-server that writes every command to its append-only file before it answers, so a
    restart loses nothing it acknowledged, as a Redis deployed for state would."""

    name = "redis-server"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return [
            self.executable("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--dir", str(self.directory),
        ]  # fmt: skip

    def answers(self) -> bool:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()


class PostgresServer(Service):
    """A PostgreSQL cluster made for the test (initdb, trust for local connections), run by the
    postgres user where the suite runs as root, as PostgreSQL refuses root. Its files are
    synced on commit: a commit it acknowledged survives a restart."""

    name = "postgres"
    stop_signal = 2  # SIGINT: fast shutdown

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def as_owner(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        # setpriv execs the command as the user: signals reach PostgreSQL itself.
        owner = ["--reuid=postgres", "--regid=postgres", "--init-groups"]
        return [self.executable("setpriv"), *owner, *argv]

    def prepare(self) -> None:
        # Its own folder, which the postgres user can reach (pytest's are root's alone).
        self.data = Path(tempfile.mkdtemp(prefix="parity-postgres-"))
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres")
        subprocess.run(
            self.as_owner([self.executable("initdb"), "-D", str(self.data / "cluster"),
                           "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
            check=True, capture_output=True,
        )  # fmt: skip

    def remove(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)

    def command(self) -> list[str]:
        return self.as_owner(
            [self.executable("postgres"), "-D", str(self.data / "cluster"), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.data}",
             "-c", "max_connections=100"]
        )  # fmt: skip

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1):
                return True
        except psycopg.Error:
            return False


@contextmanager
def started[S: Service](service: S) -> Iterator[S]:
    """`service` started for the block, and stopped after it whatever the block did to it."""
    service.start()
    try:
        yield service
    finally:
        service.stop()
        service.remove()
