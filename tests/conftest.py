"""Targets for the suite: --target NAME starts servers, --target-url NAME=URL uses running ones."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling
from xdist.scheduler.protocol import Scheduling

from shared.harness.targets import Server, Target, load_targets
from shared.harness.upstream import SERVICE as UPSTREAM
from shared.spec import NEEDS
from tests.databases import Databases, probe

pytest_plugins = ["tests.report"]  # writes var/parity-report.json for `python -m compare`

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


MATRIX_MODULE = "tests/test_parity.py::"  # the matrix: every spec case on every target


@dataclass
class MatrixClock:
    """Time of the parity matrix, from its cases' reports (under pytest-xdist they reach the
    controller): the set-up, call and teardown time of its cases in each process, where other
    tests may run between them; the busiest process's total is the matrix's wall time."""

    seconds: dict[str, float] = field(default_factory=dict)
    count: int = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.nodeid.startswith(MATRIX_MODULE):
            return
        node = getattr(report, "node", None)  # the pytest-xdist worker that ran it
        worker = str(node.gateway.id) if node is not None else "main"
        self.seconds[worker] = self.seconds.get(worker, 0.0) + report.duration
        self.count += report.when == "teardown"

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, config: pytest.Config
    ) -> None:
        if not self.count:
            return
        processes = len(self.seconds)
        side_by_side = f"; the busiest of {processes} processes" if processes > 1 else ""
        terminalreporter.write_line(
            f"parity matrix: {self.count} cases on {', '.join(selected_targets(config))}"
            f" in {max(self.seconds.values()):.1f} s wall time (servers' start-up included"
            f"{side_by_side})"
        )


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


def target_param(
    target: str, *values: object, needs: Iterable[str] = (), known: str | None = None, id: str
) -> pytest.ParameterSet:
    """`target` and its values as one parameter set: a strict xfail where the target lacks one of
    `needs` (its `lacks` reason), or where `known`, a declared difference, says it fails."""
    marks: list[pytest.MarkDecorator] = []
    if lacking := TARGETS[target].lacking(needs):
        marks = [pytest.mark.xfail(reason=lacking, strict=True), pytest.mark.lacking]
    elif known:
        marks = [pytest.mark.xfail(reason=known, strict=True)]
    return pytest.param(target, *values, id=id, marks=marks)


def marked_needs(metafunc: pytest.Metafunc) -> set[str]:
    """What a test declares with @pytest.mark.needs(...) (on it, its class or its module)."""
    return {need for marker in metafunc.definition.iter_markers("needs") for need in marker.args}


def parametrize_targets(
    metafunc: pytest.Metafunc,
    known: Mapping[str, str] | None = None,
    scope: Literal["module"] | None = None,
) -> None:
    """A test with a `target` parameter on every selected target; a strict xfail where the
    target lacks what its needs marker names, or where `known` (target -> reason) says so."""
    if "target" not in metafunc.fixturenames:
        return
    needs = marked_needs(metafunc)
    params = [
        target_param(name, needs=needs, known=(known or {}).get(name), id=name)
        for name in selected_targets(metafunc.config)
    ]
    metafunc.parametrize("target", params, scope=scope)


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


def pytest_runtest_teardown(item: pytest.Item) -> None:
    pool = item.config.stash.get(SERVERS, None)
    if pool is not None and item.get_closest_marker("lacking"):
        pool.recover(item.callspec.params["target"])  # type: ignore[attr-defined]


def pytest_itemcollected(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        if unknown := [need for need in marker.args if need not in NEEDS]:
            raise pytest.UsageError(
                f"{item.nodeid}: unknown need {unknown[0]!r} in @pytest.mark.needs;"
                f" known: {', '.join(NEEDS)}"
            )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.failed and not hasattr(report, "wasxfail"):
        target = getattr(item, "callspec", None) and item.callspec.params.get("target")
        pool = item.config.stash.get(SERVERS, None)
        if target and pool and target in pool.live:
            report.sections.append((f"server log: {target}", pool.live[target].log_tail()))
    return report


# Under pytest-xdist, modules whose tests must share one process: their session fixtures serve
# every target at once (one wstest run).
ONE_PROCESS_MODULES = ("tests/test_conformance.py",)
# A target's name in a test id: the whole parameter id, or a dash-separated part of it.
_NAMES = "|".join(re.escape(name) for name in sorted(TARGETS, key=len, reverse=True))
_TARGET_IN_ID = re.compile(rf"\[(?:.*-)?({_NAMES})(?:-.*)?\]")


class TargetScheduling(LoadGroupScheduling):
    """pytest-xdist's loadgroup, grouping by target: a target's tests run in one process, which
    starts its server once, and the targets run side by side. pytest 9.2's structured node ids
    drop the `@group` suffix that xdist_group marks rely on (pytest-xdist #1386), so the group is
    read from the test id, where the target's name always is."""

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(ONE_PROCESS_MODULES):
            return nodeid.partition("::")[0]
        if found := _TARGET_IN_ID.search(nodeid):
            return found[1]
        return super()._split_scope(nodeid)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> Scheduling | None:
    """`make test` runs `pytest -n auto --dist loadgroup`: its groups are the targets."""
    return TargetScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


def databases(config: pytest.Config, directory: Path) -> Databases:
    """SQLite files in `directory`, or PostgreSQL databases with --database."""
    return Databases(directory, config.getoption("database"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"needs(*names): what the test needs of its target, of {', '.join(NEEDS)}; on a target"
        " that lacks one (shared/harness/targets.toml) it is a strict xfail with its reason",
    )
    config.addinivalue_line(
        "markers", "lacking: set by target_param where the target lacks what the test needs"
    )
    url = config.getoption("database")
    if url is not None and (reason := probe(url)) is not None:
        raise pytest.UsageError(f"--database: {reason}")
    config.pluginmanager.register(MatrixClock(), "matrix-clock")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if set(selected_targets(config)) - set(target_urls(config)):
        where = config.getoption("database") or "SQLite, a file per server"
        terminalreporter.write_line(f"databases of the servers started: {where}")
