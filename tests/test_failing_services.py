"""Services taken away from a running app and given back: PostgreSQL restarted under a load of
writes, on a cluster of the test's own; the app recovers, and no acknowledged write is lost."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.harness.targets import PROJECT_ROOT
from shared.runtime.data import DATABASE_WAIT_SECONDS
from tests.plugins.servers import ServerPool, parametrize_targets
from tests.services import PostgresServer, started

pytestmark = pytest.mark.hostile  # slow: a server and a cluster of its own per target

WRITERS = 4  # clients writing at once
BEFORE = 2.0  # seconds of writes before the restart
DOWN = 2.0  # seconds PostgreSQL stays down
RECOVERED_WITHIN = 15.0  # seconds for writes to succeed again once it is back
AFTER = 3.0  # seconds of writes once they succeed again
# No request waits longer for its answer, PostgreSQL down or not: the apps wait for a connection
# DATABASE_WAIT_SECONDS at most.
ANSWER_WITHIN = DATABASE_WAIT_SECONDS + 5.0
REPORT = PROJECT_ROOT / "var" / "failing-services.json"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


@dataclass
class Writes:
    """What the writers sent and heard: each acknowledged item's id and name, and the rest."""

    acknowledged: dict[int, str] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # "500 internal_error" -> count
    last_acknowledged: float = 0.0  # time.monotonic() of the latest 201

    def refuse(self, what: str) -> None:
        self.refused[what] = self.refused.get(what, 0) + 1


async def writer(client: httpx.AsyncClient, name: str, writes: Writes, stop: asyncio.Event) -> None:
    """POST /items one after another until `stop`: a 201 is acknowledged; anything else must be
    the shared JSON error, sent within ANSWER_WITHIN."""
    count = 0
    while not stop.is_set():
        count += 1
        item = f"{name}-{count}"
        try:
            answer = await client.post("/items", json={"name": item}, timeout=ANSWER_WITHIN)
        except httpx.TimeoutException:
            writes.refuse("no answer within the bound")
            continue
        except httpx.TransportError as error:
            writes.refuse(f"transport error: {type(error).__name__}")
            continue
        if answer.status_code == 201:
            writes.acknowledged[answer.json()["id"]] = item
            writes.last_acknowledged = time.monotonic()
        else:
            code = answer.json().get("error", {}).get("code") if answer.content else None
            writes.refuse(f"{answer.status_code} {code}")
        await asyncio.sleep(0.02)


@dataclass
class Counted:
    """What a restart under writes counted, for the assertions and var/failing-services.json."""

    acknowledged: int
    acknowledged_before_the_restart: int
    refused: dict[str, int]
    found_after: int
    lost: dict[int, str]
    seconds_to_the_first_write_acknowledged_once_back: float
    ready_while_down: tuple[int, object]
    ready_after: int


async def restart_under_writes(base_url: str, postgres: PostgresServer) -> Counted:
    writes = Writes()
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=base_url) as client:
        writers = [
            asyncio.create_task(writer(client, f"w{n}-{time.time_ns()}", writes, stop))
            for n in range(WRITERS)
        ]
        try:
            await asyncio.sleep(BEFORE)
            before = len(writes.acknowledged)
            await asyncio.to_thread(postgres.stop)
            await asyncio.sleep(DOWN / 2)
            ready_while_down = await client.get("/health/ready", timeout=ANSWER_WITHIN)
            await asyncio.sleep(DOWN / 2)
            await asyncio.to_thread(postgres.start)
            back = time.monotonic()
            while writes.last_acknowledged < back:
                assert time.monotonic() - back < RECOVERED_WITHIN, (
                    f"no write acknowledged {RECOVERED_WITHIN} s after PostgreSQL came back:"
                    f" {writes.refused}"
                )
                await asyncio.sleep(0.1)
            recovered = writes.last_acknowledged - back
            await asyncio.sleep(AFTER)
        finally:
            stop.set()
            await asyncio.gather(*writers)
        found: dict[int, str | None] = {}
        for item_id in writes.acknowledged:
            answer = await client.get(f"/items/{item_id}")
            found[item_id] = answer.json()["name"] if answer.status_code == 200 else None
        ready_after = await client.get("/health/ready")
    return Counted(
        acknowledged=len(writes.acknowledged),
        acknowledged_before_the_restart=before,
        refused=writes.refused,
        found_after=sum(name is not None for name in found.values()),
        lost={i: name for i, name in writes.acknowledged.items() if found[i] != name},
        seconds_to_the_first_write_acknowledged_once_back=round(recovered, 2),
        ready_while_down=(ready_while_down.status_code, ready_while_down.json()),
        ready_after=ready_after.status_code,
    )


# With one request at a time (a sync worker), each writer's request waits its DATABASE_WAIT_SECONDS
# in turn while PostgreSQL is down, and the others queue behind it past any bound.
@pytest.mark.needs("overlap")
def test_postgresql_restarted_under_writes(
    servers: ServerPool, target: str, tmp_path: Path
) -> None:
    """Writes while PostgreSQL stops and starts again: every one acknowledged is there after,
    each refused one was refused with the shared 500 within the bound, readiness said 503 while
    it was down, and writes succeed again without restarting the app."""
    with started(PostgresServer(tmp_path / "postgres")) as postgres:
        server = servers.spawn(target, f"{target}-postgres", env={"DATABASE_URL": postgres.url})
        try:
            counted = asyncio.run(restart_under_writes(server.base_url, postgres))
        finally:
            server.stop()
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[target] = asdict(counted)
    REPORT.write_text(json.dumps(report, indent=2))
    assert counted.acknowledged_before_the_restart, f"nothing was written before: {counted}"
    assert not counted.lost, f"acknowledged writes lost: {counted}"
    assert set(counted.refused) <= {"500 internal_error"}, counted
    assert counted.ready_while_down == (
        503, {"error": {"code": "not_ready", "message": "Not ready: database down."}}
    ), counted  # fmt: skip
    assert counted.ready_after == 200, counted
