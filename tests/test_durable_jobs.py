"""A job outlives `kill -9` of the server and of its worker, on both apps' queues: at least once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from typing import Any

import pytest

from shared.harness.client import http_client
from shared.harness.targets import Server
from tests.plugins.servers import ServerPool, selected_targets

# The targets whose jobs are on a queue outside the server: aiohttp's on saq's in Redis, run by
# its worker; Django's in the database, run by django_app's task_worker.
QUEUED = {
    "aiohttp-gunicorn": "Sweeping job",  # saq's log line: a dead worker's job, queued again
    "django-uvicorn": "queued again 1 lost task(s)",  # task_worker's, at its start
}
JOB_SECONDS = 3
# saq finds a dead worker's job once its heartbeat is 10 s old, at its next sweep (every 2 s),
# after waiting 5 s for an abort no worker answers; then it runs 3 s. A loaded machine is slower.
DONE_WITHIN = 90.0


def kill_9(server: Server) -> None:
    """SIGKILL to the server and its companions, each a process group (gunicorn's workers too)."""
    assert server.process is not None
    for process in [server.process, *server.companions]:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


async def job_reaches(base_url: str, location: str, status: str, within: float) -> dict[str, Any]:
    deadline = time.monotonic() + within
    async with http_client(base_url) as client:
        while True:
            body: dict[str, Any] = (await client.get(location)).json()
            if body["status"] == status:
                return body
            assert time.monotonic() < deadline, f"job {location}: {body} after {within} s"
            await asyncio.sleep(0.1)


@pytest.mark.parametrize("name", sorted(QUEUED))
async def test_a_running_job_completes_after_kill_9_of_the_server_and_its_worker(
    name: str, servers: ServerPool, request: pytest.FixtureRequest
) -> None:
    if name not in selected_targets(request.config) or name in servers.urls:
        pytest.skip(f"{name} is not started by this run: it cannot be killed")
    instance = f"{name}-kill-{uuid.uuid4().hex[:8]}"
    # A Redis prefix of its own: no other server's worker may take (or sweep) its job.
    server = servers.spawn(name, instance, {"REDIS_PREFIX": f"parity-test-{instance}"})
    try:
        async with http_client(server.base_url) as client:
            accepted = await client.post("/jobs", json={"seconds": JOB_SECONDS})
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["location"]
        await job_reaches(server.base_url, location, "running", 30.0)
        kill_9(server)
        await asyncio.to_thread(server.start)  # the same port, database, Redis prefix, worker id
        done = await job_reaches(server.base_url, location, "done", DONE_WITHIN)
        assert done == {**accepted.json(), "status": "done"}
        assert QUEUED[name] in server.log_tail(400), server.log_tail()
    finally:
        server.stop()
