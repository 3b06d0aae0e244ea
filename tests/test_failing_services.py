"""Services taken away from a running app and given back, each the test's own: PostgreSQL under
a load of writes, Redis under waiting clients: the app recovers, nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest
import websockets
from psycopg import sql
from websockets.asyncio.client import ClientConnection

from shared.harness.targets import PROJECT_ROOT
from shared.runtime.data import DATABASE_WAIT_SECONDS
from tests.plugins.servers import ServerPool, parametrize_targets
from tests.services import PostgresServer, RedisServer, started

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
    assert set(counted.refused) <= {"500 internal_error", "503 database_busy"}, counted
    assert counted.ready_while_down == (
        503, {"error": {"code": "not_ready", "message": "Not ready: database down."}}
    ), counted  # fmt: skip
    assert counted.ready_after == 200, counted


async def transfers_past_a_locked_wallet(base_url: str, postgres: PostgresServer) -> list[str]:
    """Three transfers from a wallet whose row another client holds locked: those that get one
    of the pool's connections wait for the lock, the others for a connection; the lock is let go
    once the first answer came. Each answer as "status Retry-After code", then the balances."""
    async with httpx.AsyncClient(base_url=base_url, timeout=ANSWER_WITHIN * 2) as client:
        source, destination = [
            (await client.post("/wallets", json={"balance": 10})).json()["id"] for _ in range(2)
        ]
        async with await psycopg.AsyncConnection.connect(postgres.url) as holder:
            table = await (
                await holder.execute(
                    "SELECT table_name FROM information_schema.tables"
                    " WHERE table_name IN ('wallets', 'patterns_wallet')"
                )
            ).fetchone()
            assert table is not None, "no wallet table"
            await holder.execute(
                sql.SQL("SELECT id FROM {} WHERE id = %s FOR UPDATE").format(
                    sql.Identifier(table[0])
                ),
                [source],
            )
            body = {"from": source, "to": destination, "amount": 1}
            sent = [asyncio.create_task(client.post("/transfers", json=body)) for _ in range(3)]
            await asyncio.wait(sent, return_when=asyncio.FIRST_COMPLETED)
            await holder.rollback()
        answers = [await answer for answer in sent]
        balances = [
            (await client.get(f"/wallets/{w}")).json()["balance"] for w in (source, destination)
        ]
    return [
        f"{a.status_code} {a.headers.get('Retry-After')} {a.json().get('error', {}).get('code')}"
        for a in answers
    ] + [f"balances {balances[0]} {balances[1]}"]


# Each process of a target has a pool of one connection here; aiohttp-gunicorn has two processes:
# three transfers leave at least one without a connection.
@pytest.mark.needs("overlap")
def test_no_connection_free_in_time_is_a_503(
    servers: ServerPool, target: str, tmp_path: Path
) -> None:
    """A request that waits DATABASE_WAIT_SECONDS for a connection of the pool and gets none is
    told the database is busy (503, Retry-After) and changes nothing; those that had one go on."""
    with started(PostgresServer(tmp_path / "postgres")) as postgres:
        server = servers.spawn(
            target,
            f"{target}-pool-of-one",
            env={"DATABASE_URL": postgres.url, "DATABASE_POOL_SIZE": "1"},
        )
        try:
            answers = asyncio.run(transfers_past_a_locked_wallet(server.base_url, postgres))
        finally:
            server.stop()
    *transfers, balances = answers
    assert "503 1 database_busy" in transfers, answers
    assert set(transfers) <= {"503 1 database_busy", "201 None None"}, answers
    moved = transfers.count("201 None None")
    assert balances == f"balances {10 - moved} {10 + moved}", answers


EVENTS_BEFORE = 10  # events published before Redis restarts: each must still be there after


@dataclass
class Heard:
    """What the clients waiting through a Redis restart heard, for var/failing-services.json."""

    published_before: int
    found_after: int
    after_id: str  # the event published once Redis is back
    seconds_to_the_first_publish_once_back: float
    long_poll: str  # what the waiting long poll got: the event, or the error and then the event
    sse: str
    chat: str


async def publish(client: httpx.AsyncClient, data: str, within: float) -> int:
    """POST /events until one is acknowledged, within `within` s; its id."""
    deadline = time.monotonic() + within
    while True:
        answer = await client.post("/events", json={"data": data}, timeout=ANSWER_WITHIN)
        if answer.status_code == 201:
            return int(answer.json()["id"])
        assert answer.json()["error"]["code"] == "internal_error", answer.text
        assert time.monotonic() < deadline, f"no event published within {within} s: {answer.text}"
        await asyncio.sleep(0.2)


async def sse_event(base_url: str, after: int, started: asyncio.Event) -> list[str]:
    """The first event id an SSE stream from after `after` sends, or "ended" or "cut" where the
    stream ended, or was cut off, before one (an EventSource then connects again)."""
    try:
        async with (
            httpx.AsyncClient(base_url=base_url, timeout=ANSWER_WITHIN * 2) as client,
            client.stream("GET", "/events/stream", headers={"Last-Event-ID": str(after)}) as sse,
        ):
            started.set()
            async for line in sse.aiter_lines():
                if line.startswith("id:"):
                    return [line.removeprefix("id:").strip()]
    except httpx.RemoteProtocolError:
        return ["cut"]
    return ["ended"]


@asynccontextmanager
async def member(room_url: str, origin: dict[str, str]) -> AsyncIterator[ClientConnection]:
    """A socket in the room once it hears its own join notice: the server has joined it, through
    Redis, which must not stop before (the join would fail and the server close the socket)."""
    async with websockets.connect(room_url, additional_headers=origin) as socket:
        while json.loads(await socket.recv()).get("type") != "join":
            pass
        yield socket


async def redis_restarted(base_url: str, ws_url: str, redis: RedisServer) -> Heard:
    origin = {"Origin": base_url}
    async with httpx.AsyncClient(base_url=base_url) as client:
        ids = [await publish(client, f"before-{n}", ANSWER_WITHIN) for n in range(EVENTS_BEFORE)]
        last = ids[-1]
        streaming = asyncio.Event()
        sse = asyncio.create_task(sse_event(base_url, last, streaming))
        poll = asyncio.create_task(
            client.get("/events/poll", params={"after": last, "timeout": 20}, timeout=30)
        )
        async with (
            member(f"{ws_url}/ws/chat/restart", origin) as one,
            member(f"{ws_url}/ws/chat/restart", origin) as two,
        ):
            await streaming.wait()
            await asyncio.to_thread(redis.stop)
            await asyncio.sleep(DOWN)
            await asyncio.to_thread(redis.start)
            back = time.monotonic()
            after_id = await publish(client, "after", RECOVERED_WITHIN)
            published = time.monotonic() - back
            polled = await asyncio.wait_for(poll, ANSWER_WITHIN * 2)
            long_poll = f"{polled.status_code} {polled.text[:200]}"
            if polled.status_code != 200:  # a clear error: the client asks again
                again = await client.get("/events/poll", params={"after": last, "timeout": 5})
                long_poll += f", then {again.status_code} {again.text[:200]}"
            heard = await asyncio.wait_for(sse, ANSWER_WITHIN * 2)
            if heard != [str(after_id)]:  # the stream ended: the client connects again
                heard += await sse_event(base_url, last, asyncio.Event())
            chat = await chat_after_restart(ws_url, origin, one, two)
        backlog = await client.get("/events/poll", params={"after": 0, "timeout": 0})
        deadline = time.monotonic() + ANSWER_WITHIN  # a worker may still be reconnecting
        while backlog.status_code != 200 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            backlog = await client.get("/events/poll", params={"after": 0, "timeout": 0})
    assert backlog.status_code == 200, f"the backlog after the restart: {backlog.text[:300]}"
    found = {str(event["id"]) for event in backlog.json()["events"]}
    return Heard(
        published_before=len(ids),
        found_after=sum(str(i) in found for i in ids),
        after_id=str(after_id),
        seconds_to_the_first_publish_once_back=round(published, 2),
        long_poll=long_poll,
        sse=" then ".join(heard),
        chat=chat,
    )


async def chat_after_restart(
    ws_url: str, origin: dict[str, str], one: ClientConnection, two: ClientConnection
) -> str:
    """How soon two hears one again: one sends a message every half second, on a new socket
    where the server closed its own (its send failed: a clear error), until two hears one.
    Redis pub/sub delivers at most once: what is published before a process has subscribed
    again is lost, and counted."""
    heard = asyncio.create_task(message_heard(two))
    started = time.monotonic()
    closes: list[int | None] = []
    sent = 0
    try:
        while not heard.done():
            assert time.monotonic() - started < RECOVERED_WITHIN, (
                f"two heard none of {sent} messages in {RECOVERED_WITHIN} s; one closed {closes}"
            )
            if one.close_code is not None:
                closes.append(one.close_code)
                one = await websockets.connect(
                    f"{ws_url}/ws/chat/restart", additional_headers=origin
                )
            try:
                sent += 1
                await one.send(json.dumps({"message": f"after the restart {sent}"}))
            except websockets.ConnectionClosed:
                continue
            await asyncio.wait([heard], timeout=0.5)
    finally:
        heard.cancel()
        await one.close()
    first = int(heard.result().rpartition(" ")[2])
    return (
        f"heard message {first} of {sent} after {time.monotonic() - started:.1f} s"
        f" ({first - 1} lost); the sender's socket closed {closes or 'never'}"
    )


async def message_heard(two: ClientConnection) -> str:
    """The next chat message two hears (past join and leave notices)."""
    while True:
        frame = json.loads(await two.recv())
        if frame.get("type") == "message":
            return str(frame["message"])


@pytest.mark.needs("websocket", "streaming", "overlap")
def test_redis_restarted_under_waiting_clients(
    servers: ServerPool, target: str, tmp_path: Path
) -> None:
    """Redis stops and starts again while a chat room, an SSE stream and a long poll wait: every
    event published before is there after, the long poll and the stream get the event published
    after (or a clear error, and then it), the room hears a message again, without a restart."""
    with started(RedisServer(tmp_path / "redis")) as redis:
        server = servers.spawn(target, f"{target}-redis", env={"REDIS_URL": redis.url})
        try:
            live = f"ws://127.0.0.1:{server.port}"
            heard = asyncio.run(redis_restarted(server.base_url, live, redis))
        finally:
            server.stop()
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[f"{target} (redis)"] = asdict(heard)
    REPORT.write_text(json.dumps(report, indent=2))
    assert heard.found_after == heard.published_before, heard
    status, _, body = heard.long_poll.rpartition(", then ")[-1].partition(" ")
    assert status == "200", heard
    assert json.loads(body)["events"][-1]["data"] == "after", heard
    assert heard.sse.split(" then ")[-1] == heard.after_id, heard
    assert heard.chat.startswith("heard message"), heard
