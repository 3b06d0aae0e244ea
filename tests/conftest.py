"""The suite's fixtures; its plugins (servers, expected differences, clock, scheduler, report)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis

pytest.register_assert_rewrite("tests.plugins")  # before the import below: they are plugins
from shared.harness.client import http_client  # noqa: E402
from tests.plugins.servers import REDIS_PREFIX, Live, ServerPool, start_pool  # noqa: E402

pytest_plugins = [
    "tests.plugins.servers",  # --target, --target-url, --database; the servers of the run
    "tests.plugins.expected",  # the registry of expected differences, marked on each test
    "tests.plugins.clock",  # the parity matrix's wall time
    "tests.plugins.scheduler",  # --dist loadgroup: a target's tests in one process
    "tests.plugins.report",  # writes var/parity-report.json for `python -m compare`
]


REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
GENERATED_EXAMPLES = 400  # make test's budget: requests, each sent to every target


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("generated", "generated requests (tests/test_generated.py)")
    group.addoption(
        "--generated-examples",
        type=int,
        default=GENERATED_EXAMPLES,
        help=f"how many requests to generate, each sent to every target (default:"
        f" {GENERATED_EXAMPLES}; make fuzz sends 50,000)",
    )
    group.addoption(
        "--generated-seed",
        type=int,
        default=0,
        help="the seed they are generated from (default 0: the same requests every run)",
    )


@pytest.fixture(scope="session")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    """Every target's server, started on first use, stopped at the end of the session."""
    pool = start_pool(request.config, tmp_path_factory.mktemp("servers"))
    yield pool
    pool.close()


@pytest.fixture
def live(servers: ServerPool, target: str) -> Live:
    """The running server of the test's `target` parameter."""
    return servers.get(target)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """Redis at REDIS_URL (by default 127.0.0.1:6379); this run's keys are deleted at the end."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(
            f"not run: no Redis at {REDIS_URL} ({error}). What crosses processes needs one:"
            " start redis-server, or set REDIS_URL (CI has Redis at 127.0.0.1:6379)."
        )
    try:
        yield REDIS_URL
    finally:
        for key in client.scan_iter(match=f"{REDIS_PREFIX}-*"):
            client.delete(key)
        client.close()


@pytest.fixture
async def client(live: Live) -> AsyncIterator[httpx.AsyncClient]:
    """The neutral client (shared/harness/client.py), on the test's target."""
    async with http_client(live.base_url) as client:
        yield client
