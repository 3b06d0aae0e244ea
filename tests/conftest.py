"""Targets for the suite: --target NAME starts servers, --target-url NAME=URL uses running ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.targets import Server, Target, load_targets
from shared.upstream import SERVICE as UPSTREAM
from tests.databases import Databases, probe

pytest_plugins = ["tests.report"]  # writes var/parity-report.json for `python -m compare`

TARGETS = load_targets()
REDIS_PREFIX = f"parity-test-{uuid.uuid4().hex[:12]}"
SERVERS = pytest.StashKey["ServerPool"]()
# What every server the suite starts gets for part 3 (concurrency), besides UPSTREAM_URL (the
# suite's own upstream service): intervals short enough that no test waits out a default.
CONCURRENCY_ENV = {
    "UPSTREAM_TIMEOUT": "1.5",  # the default is 2 s: a 3 s upstream call times out under both
    "SSE_KEEPALIVE_SECONDS": "0.5",  # the default is 15 s
    "HEARTBEAT_SECONDS": "0.25",  # the default is 1 s
}
MATRIX_CLOCK = pytest.StashKey["MatrixClock"]()


@dataclass
class MatrixClock:
    """Wall time of the parity matrix: from its first case's set-up to its last case's teardown."""

    first: float = 0.0
    last: float = 0.0
    count: int = 0


@dataclass(frozen=True)
class Live:
    """A target the tests can reach: a server this session started, or one given by URL."""

    name: str
    target: Target
    base_url: str
    server: Server | None = None

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")

    def log_tail(self) -> str:
        return self.server.log_tail() if self.server else f"(running elsewhere at {self.base_url})"


class ServerPool:
    """Starts each selected target once, on first use, and stops them all at the end."""

    def __init__(self, urls: dict[str, str], log_dir: Path, databases: Databases) -> None:
        self.urls = urls
        self.log_dir = log_dir
        self.databases = databases
        self.live: dict[str, Live] = {}
        self.upstream: Server | None = None

    def env_for(self, name: str, instance: str) -> dict[str, str]:
        """The environment of one server process of a target: its own files, databases..."""
        return {
            # Its own database (a SQLite file, or a PostgreSQL database made for this run with
            # --database) and its own folder for uploads.
            "DATABASE_URL": self.databases.url_for(instance),
            "FILES_DIR": str(self.log_dir / f"{instance}-files"),
            # This run's Redis keys and channels (when REDIS_URL is set), per target: runs side
            # by side on one Redis do not meet, nor do two targets; one target's processes do.
            "REDIS_PREFIX": f"{REDIS_PREFIX}-{name}",
        }

    def spawn(self, name: str, instance: str, env: dict[str, str] | None = None) -> Server:
        """A fresh server of target `name`, outside the pool: the caller stops it."""
        server = Server(
            TARGETS[name],
            log_path=self.log_dir / f"{instance}.log",
            env={**self.env_for(name, instance), **self.concurrency_env(), **(env or {})},
        )
        return server.start()

    def get(self, name: str) -> Live:
        if name not in self.live:
            target = TARGETS[name]
            if name in self.urls:
                self.live[name] = Live(name, target, self.urls[name].rstrip("/"))
            else:
                server = self.spawn(name, name)
                self.live[name] = Live(name, target, server.base_url, server)
        return self.live[name]

    def concurrency_env(self) -> dict[str, str]:
        """CONCURRENCY_ENV and the URL of the upstream service, which starts on first use."""
        if self.upstream is None:
            self.upstream = Server(UPSTREAM, log_path=self.log_dir / "upstream.log").start()
        return {**CONCURRENCY_ENV, "UPSTREAM_URL": self.upstream.base_url}

    def close(self) -> None:
        for live in self.live.values():
            if live.server is not None:
                live.server.stop()
        if self.upstream is not None:
            self.upstream.stop()
        self.databases.drop_all()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("targets", "servers under test")
    group.addoption(
        "--target",
        action="append",
        default=[],
        choices=sorted(TARGETS),
        help="start this target and test it (repeatable; default: every target)",
    )
    group.addoption(
        "--target-url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="test an already running server as target NAME, e.g. aiohttp=http://127.0.0.1:8081",
    )
    group.addoption(
        "--database",
        metavar="URL",
        default=None,
        help="run the started servers on PostgreSQL at URL (postgresql://USER@HOST:PORT): one"
        " database per server, created for this run and dropped at its end (default: SQLite)",
    )


def target_urls(config: pytest.Config) -> dict[str, str]:
    urls: dict[str, str] = {}
    for item in config.getoption("target_url"):
        name, sep, url = item.partition("=")
        if not sep or name not in TARGETS or not url.startswith(("http://", "https://")):
            raise pytest.UsageError(
                f"--target-url {item!r}: expected NAME=http://HOST:PORT,"
                f" NAME one of {', '.join(TARGETS)}"
            )
        urls[name] = url
    return urls


def selected_targets(config: pytest.Config) -> list[str]:
    """--target and --target-url names, in registry order; every target when neither is given."""
    chosen = set(config.getoption("target")) | set(target_urls(config))
    return [name for name in TARGETS if name in chosen or not chosen]


@pytest.fixture(scope="session")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    log_dir = tmp_path_factory.mktemp("servers")
    pool = ServerPool(target_urls(request.config), log_dir, databases(request.config, log_dir))
    request.config.stash[SERVERS] = pool
    yield pool
    pool.close()


@pytest.fixture
def live(servers: ServerPool, target: str) -> Live:
    """The running server of the test's `target` parameter."""
    return servers.get(target)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and not hasattr(report, "wasxfail"):
        target = getattr(item, "callspec", None) and item.callspec.params.get("target")
        pool = item.config.stash.get(SERVERS, None)
        if target and pool and target in pool.live:
            report.sections.append((f"server log: {target}", pool.live[target].log_tail()))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[object]:
    started = time.perf_counter()
    result = yield
    if item.get_closest_marker("parity"):
        clock = item.config.stash.setdefault(MATRIX_CLOCK, MatrixClock(first=started))
        clock.last = time.perf_counter()
        clock.count += 1
    return result


def databases(config: pytest.Config, directory: Path) -> Databases:
    """SQLite files in `directory`, or PostgreSQL databases with --database."""
    return Databases(directory, config.getoption("database"))


def pytest_configure(config: pytest.Config) -> None:
    url = config.getoption("database")
    if url is not None and (reason := probe(url)) is not None:
        raise pytest.UsageError(f"--database: {reason}")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if (pool := config.stash.get(SERVERS, None)) and any(
        live.server for live in pool.live.values()
    ):
        where = pool.databases.postgres_url or "SQLite, a file per server"
        terminalreporter.write_line(f"databases: {where}")
    if clock := config.stash.get(MATRIX_CLOCK, None):
        terminalreporter.write_line(
            f"parity matrix: {clock.count} cases on {', '.join(selected_targets(config))}"
            f" in {clock.last - clock.first:.1f} s wall time (servers' start-up included)"
        )
