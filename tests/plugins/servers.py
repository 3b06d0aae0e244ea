"""Pytest plugin: the targets under test (--target, --target-url, --database) and their servers."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest

from shared.harness.targets import Server, Target, load_targets
from shared.harness.upstream import SERVICE as UPSTREAM
from tests.databases import Databases, probe

TARGETS = load_targets()
REDIS_PREFIX = f"parity-test-{uuid.uuid4().hex[:12]}"
# Every server of a run shares PostgreSQL's 100 connections: six targets side by side,
# aiohttp-gunicorn's two workers, the extra servers of some tests, aiohttp's two engines. At the
# apps' default of 15 per pool, bursts on several targets at once are refused ("too many clients").
TEST_DATABASE_POOL_SIZE = 4
SERVERS = pytest.StashKey["ServerPool"]()
# What every server the suite starts gets for part 3 (concurrency), besides UPSTREAM_URL (the
# suite's own upstream service): intervals short enough that no test waits out a default.
CONCURRENCY_ENV = {
    "UPSTREAM_TIMEOUT": "1.5",  # the default is 2 s: a 3 s upstream call times out under both
    "SSE_KEEPALIVE_SECONDS": "0.5",  # the default is 15 s
    "HEARTBEAT_SECONDS": "0.25",  # the default is 1 s
}


@functools.cache
def unavailable(name: str) -> str | None:
    """Why target `name` cannot run here (asked once a session), or None."""
    return TARGETS[name].unavailable()


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
            "DATABASE_POOL_SIZE": str(TEST_DATABASE_POOL_SIZE),
            "FILES_DIR": str(self.log_dir / f"{instance}-files"),
            # This run's Redis keys and channels (when REDIS_URL is set), per target: runs side
            # by side on one Redis do not meet, nor do two targets; one target's processes do.
            "REDIS_PREFIX": f"{REDIS_PREFIX}-{name}",
        }

    def spawn(self, name: str, instance: str, env: dict[str, str] | None = None) -> Server:
        """A fresh server of target `name`, outside the pool: the caller stops it. Where a service
        the target requires does not answer, the test is skipped: not run, with the reason."""
        if reason := unavailable(name):
            pytest.skip(f"not run: {reason}")
        server = Server(
            TARGETS[name],
            log_path=self.log_dir / f"{instance}.log",
            env={**self.env_for(name, instance), **self.concurrency_env(), **(env or {})},
        )
        return server.start()

    @contextmanager
    def two(self, name: str, instance: str, env: dict[str, str]) -> Iterator[tuple[Server, Server]]:
        """Two fresh servers of target `name` (`{instance}-a`, `-b`), started one after the other
        with `env`, stopped at the end; a target given by --target-url is skipped: not run."""
        if name in self.urls:
            pytest.skip(f"not run: {name} is given by --target-url; this test starts two servers")
        started: list[Server] = []
        try:
            for which in ("a", "b"):
                started.append(self.spawn(name, f"{instance}-{which}", env))
            yield started[0], started[1]
        finally:
            for server in started:
                server.stop()

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

    def recover(self, name: str) -> None:
        """Restart the target's server if it no longer answers: a test of what it lacks may leave
        it busy (an endless stream buffered, requests queued), which the next test must not meet."""
        live = self.live.get(name)
        if live is not None and live.server is not None and not live.server.answers():
            live.server.stop(timeout=2)
            del self.live[name]

    def close(self) -> None:
        """Stop every server at once: each may take seconds to shut down (hypercorn waits)."""
        started = [live.server for live in self.live.values() if live.server is not None]
        with ThreadPoolExecutor() as stopping:
            list(stopping.map(Server.stop, started))
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


def parametrize_targets(metafunc: pytest.Metafunc, scope: Literal["module"] | None = None) -> None:
    """A test with a `target` parameter on every selected target; what is expected of each
    (tests/plugins/expected.py) is marked on its items as they are collected."""
    if "target" in metafunc.fixturenames:
        metafunc.parametrize("target", selected_targets(metafunc.config), scope=scope)


def start_pool(config: pytest.Config, log_dir: Path) -> ServerPool:
    """The session's pool (the `servers` fixture), known to this plugin's hooks too."""
    databases = Databases(log_dir, config.getoption("database"))
    pool = ServerPool(target_urls(config), log_dir, databases)
    config.stash[SERVERS] = pool
    return pool


def pytest_runtest_teardown(item: pytest.Item) -> None:
    pool = item.config.stash.get(SERVERS, None)
    if pool is None or not isinstance(item, pytest.Function):
        return
    if item.get_closest_marker("lacking"):
        pool.recover(str(item.callspec.params["target"]))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and not hasattr(report, "wasxfail") and isinstance(item, pytest.Function):
        target = item.callspec.params.get("target") if hasattr(item, "callspec") else None
        pool = item.config.stash.get(SERVERS, None)
        if target and pool and target in pool.live:
            report.sections.append((f"server log: {target}", pool.live[target].log_tail()))
    return report


def pytest_configure(config: pytest.Config) -> None:
    url = config.getoption("database")
    if url is not None and (reason := probe(url)) is not None:
        raise pytest.UsageError(f"--database: {reason}")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if set(selected_targets(config)) - set(target_urls(config)):
        where = config.getoption("database") or "SQLite, a file per server"
        terminalreporter.write_line(f"databases of the servers started: {where}")
