"""Chat with many members, and across processes through Redis, on every target (40-realtime)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import resource
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from compare.bench.system import cpu_times, process_tree
from shared.harness.client import origin_of
from shared.harness.targets import Server
from shared.runtime.errors import error_body
from tests.plugins.servers import TARGETS, Live, ServerPool, parametrize_targets

TIMEOUT = 30.0  # seconds for one frame to come: generous, a hang still fails
MEMBER_ID = re.compile(r"[0-9a-f]{16}")
CROWD = 1000
CONNECT_AT_ONCE = 50  # handshakes in flight at a time while the crowd joins
# Bounds for the crowd: the joins send n(n+1)/2 = 500,500 frames, the message 1,000. A server
# this run started is held to its own CPU time, which the tests running beside it barely inflate
# (aiohttp spends 9-10 s, aiohttp-gunicorn's workers 10-12 s, Channels 1 s per ~1,000 frames);
# the wall clock then only catches a hang. The client's 500,500 frames cost this process as much
# again: five crowds side by side on two cores take 90 s of wall clock each, 13 s alone. A server
# running elsewhere (--target-url) is held to the wall clock.
JOIN_CPU_SECONDS = 30.0
JOIN_WITHIN = 60.0
HANG_WITHIN = 300.0
MESSAGE_WITHIN = 30.0
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def raise_open_file_limit(needed: int) -> None:
    """1,000 websockets need 1,000 descriptors here and in the server, which inherits the limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        wanted = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# At collection, before the session starts any server: they inherit it.
raise_open_file_limit(4 * CROWD)


pytestmark = pytest.mark.needs("websocket")  # every test here is a chat over websockets


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on every selected target (its known differences: expected.toml)."""
    # Module scope: the two Redis-backed servers of a target serve all its tests.
    parametrize_targets(metafunc, scope="module")


def new_room() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


@asynccontextmanager
async def member(ws_url: str, room: str) -> AsyncIterator[ClientConnection]:
    """A member of `room`, with the Origin of the server's own pages; it leaves on the way out."""
    async with connect(
        f"{ws_url}/ws/chat/{room}",
        additional_headers={"Origin": origin_of(ws_url)},
        compression=None,
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    ) as ws:
        yield ws


async def frame(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, as JSON."""
    message = await asyncio.wait_for(ws.recv(), TIMEOUT)
    assert isinstance(message, str), f"expected a text frame, got {message[:80]!r}"
    decoded: dict[str, Any] = json.loads(message)
    return decoded


async def say(ws: ClientConnection, text: str) -> None:
    await ws.send(json.dumps({"message": text}))


def join(count: int) -> dict[str, Any]:
    return {"type": "join", "members": count}


def leave(count: int) -> dict[str, Any]:
    return {"type": "leave", "members": count}


async def chat_between_two(first: str, second: str, room: str) -> None:
    """Two members, each through its own ws base URL: they see each other join, talk, leave."""
    async with member(first, room) as a:
        assert await frame(a) == join(1)
        async with member(second, room) as b:
            assert await frame(b) == join(2)
            assert await frame(a) == join(2)
            await say(a, "Hello from a")
            from_a = await frame(a)
            assert await frame(b) == from_a
            assert from_a["type"] == "message" and from_a["message"] == "Hello from a"
            assert from_a["room"] == room and MEMBER_ID.fullmatch(from_a["from"]), from_a
            await say(b, "¡Hola desde b, 世界!")
            from_b = await frame(a)
            assert await frame(b) == from_b
            assert from_b["message"] == "¡Hola desde b, 世界!" and from_b["room"] == room
            assert MEMBER_ID.fullmatch(from_b["from"]) and from_b["from"] != from_a["from"]
            await say(a, "again")
            assert (await frame(b))["from"] == from_a["from"], "a member keeps its id"
            assert (await frame(a))["message"] == "again"
        assert await frame(a) == leave(1)


@pytest.mark.behaviour("chat")
async def test_two_members_see_each_other(live: Live) -> None:
    await chat_between_two(live.ws_url, live.ws_url, new_room())


@pytest.mark.behaviour("chat")
async def test_a_member_closed_for_a_big_message_leaves(live: Live) -> None:
    room = new_room()
    async with member(live.ws_url, room) as a:
        assert await frame(a) == join(1)
        async with member(live.ws_url, room) as b:
            assert [await frame(a), await frame(b)] == [join(2), join(2)]
            await b.send("a" * (64 * 1024 + 1))
            with suppress(Exception):
                await asyncio.wait_for(b.recv(), TIMEOUT)
            assert b.protocol.close_rcvd is not None and b.protocol.close_rcvd.code == 1009
            assert await frame(a) == leave(1)


@pytest.mark.behaviour("chat")
async def test_a_compressed_message_over_64_kib_closes_with_1009(live: Live) -> None:
    """With permessage-deflate, where the server takes it: aiohttp tests a compressed message's
    size after inflating it, with `>` where a plain one gets `>=` (realtime/websockets.py)."""
    async with connect(
        f"{live.ws_url}/ws/chat/{new_room()}",
        additional_headers={"Origin": origin_of(live.ws_url)},
        compression="deflate",
        open_timeout=TIMEOUT,
        close_timeout=TIMEOUT,
    ) as ws:
        assert await frame(ws) == join(1)
        await ws.send("a" * (64 * 1024 + 1))
        with suppress(Exception):
            await asyncio.wait_for(ws.recv(), TIMEOUT)
        assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1009


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param("é" * 4096, None, id="4096-characters"),
        pytest.param(
            "é" * 4097,
            error_body(
                "invalid_field", field="message", problem="must be 1 to 4096 characters long"
            ),
            id="4097-characters",
        ),
    ],
)
@pytest.mark.behaviour("chat")
async def test_message_length_in_characters(
    live: Live, text: str, error: dict[str, Any] | None
) -> None:
    async with member(live.ws_url, new_room()) as ws:
        assert await frame(ws) == join(1)
        await say(ws, text)
        received = await frame(ws)
        if error is None:
            assert received["type"] == "message" and received["message"] == text
        else:
            assert received == {"type": "error", **error}


@dataclass
class Crowd:
    """Many members of one room, each read by a task that records what it gets."""

    ws_url: str
    room: str
    ordered: bool  # one process without Redis: each member gets the join counts in order
    joins: list[list[int]] = field(default_factory=list)
    leaves: list[list[int]] = field(default_factory=list)
    messages: list[list[dict[str, Any]]] = field(default_factory=list)
    sockets: list[ClientConnection] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    lost: list[str] = field(default_factory=list)

    async def read(self, index: int) -> None:
        async for message in self.sockets[index]:
            assert isinstance(message, str)
            received = json.loads(message)
            match received["type"]:
                case "join":
                    joins, count = self.joins[index], received["members"]
                    if self.ordered and joins and count != joins[-1] + 1:
                        self.lost.append(f"member {index} got join {count} after {joins[-1]}")
                    joins.append(count)
                case "leave":
                    self.leaves[index].append(received["members"])
                case _:
                    self.messages[index].append(received)
            self.changed.set()

    async def add(self) -> None:
        ws = await connect(
            f"{self.ws_url}/ws/chat/{self.room}",
            additional_headers={"Origin": origin_of(self.ws_url)},
            compression=None,
            open_timeout=None,  # bounded by the phase's deadline instead
            close_timeout=TIMEOUT,
        )
        self.sockets.append(ws)
        for lists in (self.joins, self.leaves, self.messages):
            lists.append([])
        self.readers.append(asyncio.create_task(self.read(len(self.sockets) - 1)))

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait until `done()` is true (the caller bounds the time)."""
        while not done():
            assert not self.lost, f"join events lost: {'; '.join(self.lost[:3])}"
            for reader in self.readers:
                if reader.done() and reader.exception() is not None:
                    raise AssertionError("a member failed") from reader.exception()
            self.changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 1.0)

    def progress(self) -> str:
        full = sum(1 for joins in self.joins if CROWD in joins)
        frames = sum(map(len, self.joins))
        return (
            f"{len(self.sockets)} connected, {full} saw the {CROWD}th join,"
            f" {frames} of {CROWD * (CROWD + 1) // 2} join frames arrived"
        )

    async def close(self) -> None:
        """Drop every connection at once: a closing handshake each would wait behind the server's
        n²/2 leave frames."""
        for reader in self.readers:
            reader.cancel()
        for ws in self.sockets:
            ws.transport.abort()
        await asyncio.gather(*self.readers, return_exceptions=True)


@dataclass
class ServerCpu:
    """The CPU seconds a server's processes (a multi-worker server's workers too) spend from now."""

    pid: int
    start: float = 0.0

    def __post_init__(self) -> None:
        self.start = self.total()

    def total(self) -> float:
        return sum(cpu_times(process_tree([self.pid])).values())

    def spent(self) -> float:
        return self.total() - self.start


@asynccontextmanager
async def within(
    seconds: float,
    what: str,
    crowd: Crowd,
    server: ServerCpu | None = None,
    cpu_seconds: float = math.inf,
) -> AsyncIterator[None]:
    """Fails, saying how far the crowd got, unless the block ends within `seconds` and before
    the server has spent `cpu_seconds` of CPU time."""
    overspent = False

    async def watch(server: ServerCpu, deadline: asyncio.Timeout) -> None:
        nonlocal overspent
        while True:  # a /proc counter, read twice a second: there is nothing to await
            await asyncio.sleep(0.5)
            if server.spent() > cpu_seconds:
                overspent = True
                deadline.reschedule(asyncio.get_running_loop().time())  # ends the block now
                return

    try:
        async with asyncio.timeout(seconds) as deadline:
            watching = asyncio.create_task(watch(server, deadline)) if server else None
            try:
                yield
            finally:
                if watching is not None:
                    watching.cancel()
    except TimeoutError:
        if overspent:
            raise AssertionError(
                f"{what}: the server spent over {cpu_seconds:g} CPU-seconds ({crowd.progress()})"
            ) from None
        raise AssertionError(f"{what}: not within {seconds:g} s ({crowd.progress()})") from None


@pytest.fixture
def crowd_server(servers: ServerPool, target: str) -> Iterator[tuple[str, bool, int | None]]:
    """(ws URL, whether it runs without Redis, its pid): a server of its own, without Redis,
    stopped after with whatever it still has to do; or the one given by --target-url (no pid)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * CROWD:
        pytest.fail(f"{CROWD} websockets need more open files than the limit, {soft}: ulimit -n")
    if target in servers.urls:
        yield servers.get(target).ws_url, False, None
        return
    # One process keeps its rooms to itself; a target of several processes brings its Redis.
    alone = "REDIS_URL" not in TARGETS[target].env
    server = servers.spawn(target, f"{target}-crowd", {"REDIS_URL": ""} if alone else {})
    try:
        assert server.process is not None
        yield server.ws_url, alone, server.process.pid
    finally:
        server.stop(timeout=5)


@pytest.mark.behaviour("chat")
async def test_a_thousand_members_all_get_one_message(
    crowd_server: tuple[str, bool, int | None],
    target: str,
    record_property: Callable[[str, object], None],
) -> None:
    """1,000 members in one room of one process: each gets the last join and the one message,
    once: nothing lost, within generous bounds."""
    ws_url, ordered, pid = crowd_server
    crowd = Crowd(ws_url, new_room(), ordered)
    server = ServerCpu(pid) if pid is not None else None
    seconds = HANG_WITHIN if server is not None else JOIN_WITHIN
    try:
        started = time.perf_counter()
        async with within(seconds, f"{CROWD} members join", crowd, server, JOIN_CPU_SECONDS):
            await crowd.add()
            await crowd.until(lambda: crowd.joins[0] == [1])
            for first in range(1, CROWD, CONNECT_AT_ONCE):
                batch = range(first, min(first + CONNECT_AT_ONCE, CROWD))
                await asyncio.gather(*(crowd.add() for _ in batch))
            await crowd.until(lambda: all(CROWD in joins for joins in crowd.joins))
        joined = time.perf_counter() - started
        joined_cpu = server.spent() if server is not None else math.nan
        # The first member saw every join; nobody saw one twice. (With Redis, two members that
        # join at once may publish in either order: a member can see a count below its own.)
        assert sorted(crowd.joins[0]) == list(range(1, CROWD + 1)), "a join was lost"
        assert all(len(set(joins)) == len(joins) for joins in crowd.joins), "a join came twice"
        assert not any(crowd.leaves), "a member left: its connection was dropped"

        sending = time.perf_counter()
        async with within(MESSAGE_WITHIN, f"all {CROWD} members get the message", crowd):
            await say(crowd.sockets[-1], "one for all")
            await crowd.until(lambda: all(crowd.messages))
        sent = time.perf_counter() - sending
        await asyncio.sleep(0.5)  # a duplicate would come right behind
        counts = [len(messages) for messages in crowd.messages]
        assert counts == [1] * CROWD, f"{sum(counts)} messages for {CROWD} members"
        assert {m[0]["message"] for m in crowd.messages} == {"one for all"}
        assert len({m[0]["from"] for m in crowd.messages}) == 1

    finally:
        await crowd.close()
    record_property(
        "crowd_seconds", {"join": joined, "join_server_cpu": joined_cpu, "message": sent}
    )
    print(
        f"\n{target}: {CROWD} members joined in {joined:.1f} s ({joined_cpu:.1f} CPU-seconds of"
        f" the server), got one message in {sent:.2f} s"
    )


@pytest.fixture(scope="module")
def two_processes(
    servers: ServerPool, target: str, redis_url: str
) -> Iterator[tuple[Server, Server]]:
    """Two server processes of the target, sharing this run's Redis prefix."""
    with servers.two(target, f"{target}-redis", {"REDIS_URL": redis_url}) as pair:
        yield pair


@pytest.mark.behaviour("chat")
async def test_a_message_crosses_processes_through_redis(
    two_processes: tuple[Server, Server],
) -> None:
    a, b = two_processes
    await chat_between_two(a.ws_url, b.ws_url, new_room())


@pytest.mark.behaviour("chat")
async def test_members_are_counted_across_processes(two_processes: tuple[Server, Server]) -> None:
    a, b = two_processes
    room = new_room()
    async with member(a.ws_url, room) as first:
        assert await frame(first) == join(1)
        async with member(b.ws_url, room) as second:
            assert [await frame(first), await frame(second)] == [join(2), join(2)]
            async with member(a.ws_url, room) as third:
                frames = [await frame(first), await frame(second), await frame(third)]
                assert frames == [join(3)] * 3
            assert [await frame(first), await frame(second)] == [leave(2), leave(2)]
        assert await frame(first) == leave(1)
