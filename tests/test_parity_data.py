"""What the parity cases cannot see over HTTP: the storage folder and the server log, per target."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from shared.runtime.data import UPLOAD_MAX_BYTES
from tests.databases import server_url
from tests.plugins.servers import TEST_DATABASE_POOL_SIZE, Live, parametrize_targets

UUID_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


def storage(live: Live) -> Path:
    """The target's FILES_DIR: only for a server this run started."""
    if live.server is None:
        pytest.skip(f"{live.name} runs elsewhere: its folder and log are not here")
    return Path(live.server.env["FILES_DIR"])


def listing(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.exists() else set()


def upload(live: Live, filename: str, content: bytes) -> httpx.Response:
    files = {"file": (filename, content, "application/octet-stream")}
    return httpx.post(f"{live.base_url}/files", files=files, timeout=60)


@pytest.mark.behaviour("files")
def test_an_upload_over_the_limit_leaves_nothing_on_disk(live: Live) -> None:
    folder = storage(live)
    before = listing(folder)
    response = upload(live, "big.bin", bytes(UPLOAD_MAX_BYTES + 1))
    assert response.status_code == 413, response.text
    assert listing(folder) == before


@pytest.mark.behaviour("files")
def test_a_filename_never_becomes_a_path(live: Live) -> None:
    folder = storage(live)
    outside = listing(folder.parent)
    marker = uuid.uuid4().hex
    names = [
        f"../../{marker}",
        f"..\\..\\{marker}",
        f"/tmp/{marker}",
        f"{marker}/../../{marker}",
        f"%2e%2e%2f{marker}",
    ]
    for name in names:
        content = name.encode()
        response = upload(live, name, content)
        assert response.status_code == 201, f"{name!r}: {response.text}"
        stored = folder / response.json()["id"]
        assert stored.read_bytes() == content, f"{name!r} is not stored under its id"
    assert all(UUID_NAME.fullmatch(name) for name in listing(folder)), listing(folder)
    assert listing(folder.parent) - outside <= {folder.name}
    assert not list(Path("/tmp").glob(f"{marker}*"))


@pytest.mark.behaviour("errors")
def test_an_unhandled_error_is_logged_and_not_sent(live: Live) -> None:
    storage(live)  # skips a server running elsewhere
    assert live.server is not None and live.server.log_path is not None
    log = live.server.log_path
    seen = log.read_text(errors="replace").count("RuntimeError: boom")
    response = httpx.get(f"{live.base_url}/errors/boom", timeout=30)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"code": "internal_error", "message": "Internal server error."}
    }
    for leak in ("Traceback", "RuntimeError", "boom", ".py"):
        assert leak not in response.text
    deadline = time.monotonic() + 10
    while log.read_text(errors="replace").count("RuntimeError: boom") == seen:
        assert time.monotonic() < deadline, f"no traceback in the log:\n{live.log_tail()}"
        time.sleep(0.05)
    tail = log.read_text(errors="replace").split("RuntimeError: boom")[-2]
    assert "Traceback (most recent call last)" in tail


def pools(live: Live) -> int:
    """How many connection pools the target's processes keep: aiohttp, three per worker (two
    engines, asyncio and sync, and asyncpg's pool for /items/raw, which keeps one connection
    open); Django, one pool in the server and one in each companion process (its pool for
    /items/raw opens with the first such request)."""
    target = live.target
    if target.app == "aiohttp":
        command = list(target.command)
        workers = int(command[command.index("--workers") + 1]) if "--workers" in command else 1
        return 3 * workers
    return 1 + len(target.companions)


@pytest.mark.behaviour("counter")
async def test_a_burst_opens_no_more_connections_than_the_pools(
    live: Live, request: pytest.FixtureRequest
) -> None:
    postgres_url = request.config.getoption("database")
    if not postgres_url:
        pytest.skip("PostgreSQL only: make test's PostgreSQL pass runs it")
    storage(live)  # skips a server running elsewhere: its database is not ours to count
    assert live.server is not None
    database = psycopg.conninfo.conninfo_to_dict(live.server.env["DATABASE_URL"])["dbname"]
    counter = f"{live.base_url}/counters/pool-{uuid.uuid4().hex[:12]}/increment"
    search = f"{live.base_url}/items/search?name=pool"
    most = 0
    db = await psycopg.AsyncConnection.connect(
        server_url(postgres_url, "postgres"), autocommit=True
    )
    async with db:

        async def count_connections() -> None:
            nonlocal most
            while True:
                found = await db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
                )
                row = await found.fetchone()
                most = max(most, row[0] if row else 0)
                await asyncio.sleep(0.005)

        counting = asyncio.create_task(count_connections())
        limits = httpx.Limits(max_connections=250)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            burst = [client.post(counter) for _ in range(200)]
            burst += [client.get(search) for _ in range(50)]
            responses = await asyncio.gather(*burst)
        counting.cancel()
    assert {response.status_code for response in responses} == {200}
    assert 1 <= most <= TEST_DATABASE_POOL_SIZE * pools(live), (
        f"{most} connections to {database} at most; DATABASE_POOL_SIZE="
        f"{TEST_DATABASE_POOL_SIZE} x {pools(live)} pools"
    )
