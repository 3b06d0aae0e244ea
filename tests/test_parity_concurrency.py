"""Streams, SSE, long polls, jobs and ticks on every target (spec: 30-concurrency.toml)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from django.test import AsyncClient
from pytest_aiohttp import AiohttpClient

from aiohttp_app.main import create_app
from shared.harness.client import http_client
from shared.harness.targets import Server
from shared.runtime.concurrency import EVENT_BACKLOG
from tests.plugins.servers import Live, ServerPool, parametrize_targets, selected_targets

TIMEOUT = 30.0  # seconds for anything that should take a fraction of that: a hang still fails
KEEPALIVE_WAIT = 20.0  # the suite sets SSE_KEEPALIVE_SECONDS=0.5; a server elsewhere has 15
UNAWAITED = "RuntimeWarning: coroutine 'sleep' was never awaited"


# Seconds a server gets to exit after SIGTERM before it is killed. Generous: on a loaded two-core
# machine aiohttp-gunicorn alone needs up to 5 s (a worker notices SIGTERM within 1 s, then its
# interpreter's teardown, then the arbiter's), yet far below what a stream left open would cost:
# aiohttp's shutdown_timeout (60 s, or 95% of gunicorn's 30 s graceful timeout), uvicorn's and
# granian's wait for every connection (no limit unless --timeout-graceful-shutdown or
# --workers-kill-timeout is given: the targets give 5 s), hypercorn's.
SHUTDOWN_WITHIN = 15.0


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc)


async def publish(client: httpx.AsyncClient, data: str) -> int:
    response = await client.post("/events", json={"data": data})
    assert response.status_code == 201, response.text
    event_id: int = response.json()["id"]
    return event_id


async def next_frame(lines: AsyncIterator[str]) -> list[str]:
    """The lines of the next text/event-stream frame (up to a blank line)."""
    frame: list[str] = []
    async with asyncio.timeout(TIMEOUT):
        async for line in lines:
            if line == "":
                if frame:
                    return frame
                continue
            frame.append(line)
    raise AssertionError(f"the stream ended in the middle of a frame: {frame!r}")


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """The next event's fields, skipping comments (`: open`, `: keep-alive`)."""
    while True:
        frame = [line for line in await next_frame(lines) if not line.startswith(":")]
        if frame:
            fields: dict[str, str] = {}
            for line in frame:
                name, _, value = line.partition(": ")
                fields[name] = f"{fields[name]}\n{value}" if name in fields else value
            return fields


async def eventually[T](
    check: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str
) -> T:
    """Poll `check` (a coroutine function) until `done` holds for its value, or fail."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        value = await check()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: still {value!r} after {TIMEOUT} s"
        await asyncio.sleep(0.05)


def server_timing_ms(response: httpx.Response) -> float:
    match = re.fullmatch(r"app;dur=(\d+\.\d)", response.headers.get("server-timing", ""))
    assert match, f"Server-Timing: {response.headers.get('server-timing')!r}"
    return float(match[1])


# fanout


@pytest.mark.behaviour("fanout")
@pytest.mark.parity
async def test_fanout_takes_one_delay_not_n(client: httpx.AsyncClient) -> None:
    response = await client.get("/fanout", params={"n": 20, "delay": 0.3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results"] == [{"delay": 0.3, "status": 200}] * 20
    # Twenty calls of 0.3 s one after another would take 6 s; at once, about 0.3 s.
    assert 0.3 <= body["elapsed"] < 3.0, body["elapsed"]


@pytest.mark.behaviour("fanout")
@pytest.mark.parity
@pytest.mark.needs("process-loop")
async def test_fanout_keeps_one_client_for_every_request(
    client: httpx.AsyncClient, servers: ServerPool, live: Live
) -> None:
    if servers.upstream is None or live.server is None:
        pytest.skip("the upstream of a server running elsewhere is not this suite's to observe")
    async with http_client(servers.upstream.base_url) as upstream:
        before = (await upstream.get("/upstream/stats")).json()
        for _ in range(3):
            assert (await client.get("/fanout", params={"n": 1})).status_code == 200
        after = (await upstream.get("/upstream/stats")).json()
    # One client per request would open a connection for each call; one pool reuses them.
    assert after["requests"] - before["requests"] == 3
    assert after["connections"] - before["connections"] <= 1, (before, after)


# stream


@pytest.mark.behaviour("stream")
@pytest.mark.parity
@pytest.mark.needs("streaming")
async def test_stream_first_line_arrives_before_the_last_is_produced(
    client: httpx.AsyncClient,
) -> None:
    request_id = f"first-line-{uuid.uuid4().hex}"
    params = {"chunks": 4, "interval": 0.5}
    async with client.stream(
        "GET", "/stream", params=params, headers={"X-Request-ID": request_id}
    ) as response:
        assert response.status_code == 200
        assert response.headers["x-request-id"] == request_id
        lines = response.aiter_lines()
        async with asyncio.timeout(TIMEOUT):
            assert await anext(lines) == "line 1 of 4"
        record = (await client.get(f"/streams/{request_id}")).json()
        assert record["state"] == "streaming" and record["produced"] < 4, record
        rest = [line async for line in lines]
    assert rest == ["line 2 of 4", "line 3 of 4", "line 4 of 4"]
    record = (await client.get(f"/streams/{request_id}")).json()
    assert record == {"request_id": request_id, "chunks": 4, "produced": 4, "state": "complete"}


@pytest.mark.behaviour("stream")
@pytest.mark.parity
@pytest.mark.needs("streaming")
async def test_stream_client_that_goes_away_stops_the_generator(
    client: httpx.AsyncClient,
) -> None:
    request_id = f"gone-{uuid.uuid4().hex}"
    params = {"chunks": 100, "interval": 0.2}  # 20 s if nobody stops it
    started = time.monotonic()
    async with client.stream(
        "GET", "/stream", params=params, headers={"X-Request-ID": request_id}
    ) as response:
        async with asyncio.timeout(TIMEOUT):
            assert await anext(response.aiter_lines()) == "line 1 of 100"
    # Leaving the block before the end of the body closes the connection.

    async def record() -> dict[str, Any]:
        found: dict[str, Any] = (await client.get(f"/streams/{request_id}")).json()
        return found

    found = await eventually(record, lambda r: r["state"] != "streaming", "the stream's record")
    # The generator's `finally` ran before its last line: the server stopped it.
    assert found["state"] == "stopped" and found["produced"] < 100, found
    assert time.monotonic() - started < TIMEOUT


# sse


@pytest.mark.behaviour("sse")
@pytest.mark.parity
@pytest.mark.needs("streaming", "overlap")
async def test_sse_every_open_stream_receives_a_published_event(
    client: httpx.AsyncClient,
) -> None:
    async with (
        client.stream("GET", "/events/stream") as first,
        client.stream("GET", "/events/stream") as second,
    ):
        for response in (first, second):
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        streams = [first.aiter_lines(), second.aiter_lines()]
        for lines in streams:
            assert await next_frame(lines) == [": open"]  # each is listening now
        data = f"to everyone {uuid.uuid4().hex}\nin two lines"
        event_id = await publish(client, data)
        for lines in streams:
            assert await next_event(lines) == {"id": str(event_id), "data": data}


@pytest.mark.behaviour("sse")
@pytest.mark.parity
@pytest.mark.needs("streaming")
async def test_sse_resumes_after_last_event_id(client: httpx.AsyncClient) -> None:
    ids = [await publish(client, f"backlog {n}") for n in range(3)]
    headers = {"Last-Event-ID": str(ids[0])}
    async with client.stream("GET", "/events/stream", headers=headers) as response:
        lines = response.aiter_lines()
        assert await next_event(lines) == {"id": str(ids[1]), "data": "backlog 1"}
        assert await next_event(lines) == {"id": str(ids[2]), "data": "backlog 2"}
        later = await publish(client, "after the resume")
        assert await next_event(lines) == {"id": str(later), "data": "after the resume"}


@pytest.mark.behaviour("sse")
@pytest.mark.parity
@pytest.mark.needs("streaming")
async def test_sse_backlog_keeps_only_the_latest_events(client: httpx.AsyncClient) -> None:
    oldest = await publish(client, "soon forgotten")
    await asyncio.gather(*(publish(client, f"filler {n}") for n in range(EVENT_BACKLOG)))
    headers = {"Last-Event-ID": str(oldest - 1)}
    async with client.stream("GET", "/events/stream", headers=headers) as response:
        first = await next_event(response.aiter_lines())
    assert int(first["id"]) == oldest + 1, f"the backlog holds {EVENT_BACKLOG}, got {first}"


@pytest.mark.behaviour("sse")
@pytest.mark.parity
@pytest.mark.needs("streaming")
async def test_sse_sends_a_keepalive_comment_when_quiet(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/events/stream") as response:
        lines = response.aiter_lines()
        assert await next_frame(lines) == [": open"]
        async with asyncio.timeout(KEEPALIVE_WAIT):
            frame = await next_frame(lines)
            while frame != [": keep-alive"]:  # events other tests publish may come first
                frame = await next_frame(lines)


# long-poll


@pytest.mark.behaviour("long-poll")
@pytest.mark.parity
@pytest.mark.needs("overlap")
async def test_long_poll_one_publish_releases_every_waiter(client: httpx.AsyncClient) -> None:
    latest = await publish(client, "before the waiters")
    params = {"after": latest, "timeout": 20}
    waiters = [asyncio.create_task(client.get("/events/poll", params=params)) for _ in range(5)]
    await asyncio.sleep(1.0)  # they are all waiting in the server now
    data = f"one for all {uuid.uuid4().hex}"
    event_id = await publish(client, data)
    async with asyncio.timeout(TIMEOUT):
        responses = await asyncio.gather(*waiters)
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json() == {"events": [{"id": event_id, "data": data}]}
        # It spent most of a second in the app: it was waiting when the event came.
        assert server_timing_ms(response) >= 300, response.headers["server-timing"]


# background


@pytest.mark.behaviour("background")
@pytest.mark.parity
async def test_background_job_goes_from_pending_to_running_to_done(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/jobs", json={"seconds": 0.5})
    accepted = time.monotonic()
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending"
    location = response.headers["location"]
    order = ["pending", "running", "done"]
    seen = ["pending"]

    async def status() -> str:
        body = (await client.get(location)).json()
        if body["status"] != seen[-1]:
            seen.append(body["status"])
        return str(body["status"])

    await eventually(status, lambda s: s == "done", f"job {location}")
    assert time.monotonic() - accepted >= 0.5 - 0.05, "done before its 0.5 s of work"
    assert seen == sorted(seen, key=order.index), f"statuses out of order: {seen}"


# periodic


@pytest.mark.behaviour("periodic")
@pytest.mark.parity
async def test_heartbeat_ticks_grow(client: httpx.AsyncClient) -> None:
    async def beat() -> dict[str, Any]:
        beat: dict[str, Any] = (await client.get("/heartbeat")).json()
        return beat

    first = await eventually(beat, lambda b: b["ticks"] > 0, "the first tick")
    second = await eventually(beat, lambda b: b["ticks"] > first["ticks"], "the next tick")
    before, after = (datetime.fromisoformat(b["last"]) for b in (first, second))
    assert before.tzinfo is not None and before < after


# pitfall-missing-await


@pytest.mark.behaviour("pitfall-missing-await")
@pytest.mark.parity
async def test_missing_await_warns_in_the_server_log(client: httpx.AsyncClient, live: Live) -> None:
    if live.server is None or live.server.log_path is None:
        pytest.skip("the log of a server running elsewhere is not this suite's to read")
    log_path = live.server.log_path
    response = await client.get("/pitfalls/missing-await")
    assert response.status_code == 200

    async def log() -> str:
        return log_path.read_text(encoding="utf-8", errors="replace")

    # Once per process and line (Python's default filter): the first such request logs it.
    await eventually(log, lambda text: UNAWAITED in text, "the server log")


async def test_missing_await_warns_in_process_aiohttp(aiohttp_client: AiohttpClient) -> None:
    client = await aiohttp_client(create_app())
    # pytest.warns records the warning; outside it, filterwarnings=error would make it an error.
    with pytest.warns(RuntimeWarning, match="coroutine 'sleep' was never awaited"):
        started = time.perf_counter()
        response = await client.get("/pitfalls/missing-await")
        assert await response.json() == {"status": "done"}
    assert time.perf_counter() - started < 0.9


async def test_missing_await_warns_in_process_django(async_client: AsyncClient) -> None:
    with pytest.warns(RuntimeWarning, match="coroutine 'sleep' was never awaited"):
        started = time.perf_counter()
        response = await async_client.get("/pitfalls/missing-await")
        assert response.json() == {"status": "done"}
    assert time.perf_counter() - started < 0.9


# shutdown: each app's own way of ending its background work


@pytest.fixture
def own_server(servers: ServerPool, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server of its own, to stop in the test; skipped for a target running elsewhere."""
    name: str = getattr(request, "param", None) or request.getfixturevalue("target")
    if name not in selected_targets(request.config) or name in servers.urls:
        pytest.skip(f"{name} is not started by this run: it cannot be signalled")
    server = servers.spawn(name, f"{name}-shutdown-{uuid.uuid4().hex[:8]}")
    try:
        yield server
    finally:
        server.stop()


async def wait_running(client: httpx.AsyncClient, location: str) -> None:
    async def status() -> str:
        return str((await client.get(location)).json()["status"])

    await eventually(status, lambda s: s == "running", f"job {location}")


@pytest.mark.behaviour("sse")
@pytest.mark.needs("streaming")
async def test_sigterm_with_an_event_stream_open(target: str, own_server: Server) -> None:
    # own_server is a fresh server of `target`.
    async with http_client(own_server.base_url) as client:
        async with client.stream("GET", "/events/stream") as stream:
            lines = stream.aiter_lines()  # held: a dropped iterator would close the stream
            assert await next_frame(lines) == [": open"]
            exit_code = await asyncio.to_thread(own_server.stop, SHUTDOWN_WITHIN)
    # aiohttp ends its streams on_shutdown; daphne cancels every application instance.
    assert exit_code != -9, f"killed: still running {SHUTDOWN_WITHIN} s after SIGTERM"


@pytest.mark.parametrize("own_server", ["aiohttp"], indirect=True)
async def test_aiohttp_cancels_running_jobs_at_shutdown(own_server: Server) -> None:
    async with http_client(own_server.base_url) as client:
        job = await client.post("/jobs", json={"seconds": 10})
        await wait_running(client, job.headers["location"])
    assert await asyncio.to_thread(own_server.stop) == 0
    assert "Cancelled 1 running background job(s) at shutdown" in own_server.log_tail()


@pytest.mark.parametrize("own_server", ["django-uvicorn"], indirect=True)
async def test_django_worker_finishes_its_job_and_lifespan_closes_the_client(
    own_server: Server,
) -> None:
    async with http_client(own_server.base_url) as client:
        job = await client.post("/jobs", json={"seconds": 3})
        await wait_running(client, job.headers["location"])
        assert (await client.get("/fanout", params={"n": 1})).status_code == 200
    # uvicorn shuts down gracefully, then re-raises SIGTERM: its exit code is -15 by design.
    assert await asyncio.to_thread(own_server.stop) in (0, -15)
    worker = own_server.companions[-1]
    assert worker.returncode == 0, f"db_worker exited with {worker.returncode}"
    log = own_server.log_tail()
    # db_worker lets the job it is running end, then exits; Django's Tasks log the end (its id
    # dashed, as django-tasks-db holds it).
    stopping = log.find("Received Terminated - shutting down gracefully")  # strsignal(SIGTERM)
    task = f"Task id={uuid.UUID(job.json()['id'])} path=django_app.concurrency.tasks.run_job"
    done = log.find(f"{task} state=SUCCESSFUL")
    assert 0 <= stopping < done, f"no SIGTERM, then the job's end, in the log:\n{log}"
    assert "Lifespan shutdown: closed the upstream HTTP client" in log
