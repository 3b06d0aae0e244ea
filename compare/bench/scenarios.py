"""Concurrency scenarios: a burst of sleeps, websocket echoes, handshakes and idle sockets, a chat
room."""

from __future__ import annotations

import asyncio
import collections
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State

from compare.bench.config import Scenario
from compare.bench.system import process_tree, rss_bytes, settle

OPEN_AT_ONCE = 100  # connections opened concurrently while a scenario sets up
PASSWORD = "correct horse battery"  # the password of the user a ws-session scenario logs in
JOIN_BUDGET = 60.0  # seconds for a chat room's members to join, and again for the joins to settle
OPEN_BUDGET = 240.0  # seconds for a ws-idle scenario's connections to open


@dataclass
class ScenarioResult:
    """Named numbers; `primary` is the one the tables and plots compare."""

    metrics: dict[str, float]
    errors: int = 0
    notes: list[str] = field(default_factory=list)
    generator_cpu_seconds: float = 0.0


def run(
    scenario: Scenario,
    base_url: str,
    seconds: float,
    patience: float,
    warmup: bool = False,
    server: Sequence[int] = (),
) -> ScenarioResult:
    """One measurement (or, with `warmup`, a smaller one that is thrown away); `server`: the
    server's processes, whose memory a ws-idle scenario reads."""
    cpu = time.process_time()
    match scenario.kind:
        case "delay-burst":
            work = delay_burst(scenario, base_url, patience, warmup)
        case "ws-echo":
            work = ws_echo(scenario, base_url, seconds, patience)
        case "ws-session":
            work = ws_session(scenario, base_url, seconds, patience)
        case "chat":
            work = chat(scenario, base_url, patience, warmup)
        case "ws-idle":
            work = ws_idle(scenario, base_url, seconds, patience, warmup, server)
        case _:
            raise ValueError(f"{scenario.id}: {scenario.kind} runs as an HTTP load")
    result = asyncio.run(work, loop_factory=new_event_loop)
    result.generator_cpu_seconds = time.process_time() - cpu
    return result


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (it is, with uvicorn[standard]): a faster client."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99 and max of samples in seconds, as milliseconds: the nearest rank, as wrk's
    own percentiles (numpy's inverted_cdf)."""
    if not samples:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    p50, p90, p99 = np.percentile(samples, [50, 90, 99], method="inverted_cdf")
    return {"p50": p50 * 1000, "p90": p90 * 1000, "p99": p99 * 1000, "max": max(samples) * 1000}


@dataclass
class Opened:
    """How many connections a session has opened; `full` is set once it opened its limit."""

    count: int = 0
    full: asyncio.Event = field(default_factory=asyncio.Event)


def counting_session(base_url: str, limit: int) -> tuple[aiohttp.ClientSession, Opened]:
    """An aiohttp session of at most `limit` connections, and the count of those it opened."""
    opened = Opened()
    tracing = aiohttp.TraceConfig()

    async def on_open(*_: object) -> None:
        opened.count += 1
        if opened.count >= limit:
            opened.full.set()

    tracing.on_connection_create_end.append(on_open)
    connector = aiohttp.TCPConnector(limit=limit)
    return aiohttp.ClientSession(base_url, connector=connector, trace_configs=[tracing]), opened


async def delay_burst(
    scenario: Scenario, base_url: str, patience: float, warmup: bool
) -> ScenarioResult:
    """Open the connections, then send every request at once: wall time to the last response.
    A request that does not sleep (seconds=0) opens each connection, all sent at once so that
    none finds another's connection free: the burst then finds them in aiohttp's pool."""
    count = min(scenario.concurrency, 50) if warmup else scenario.concurrency
    ideal = scenario.ideal or 0.0
    session, opened = counting_session(base_url, count)
    latencies: list[float] = []

    async def get(query: Mapping[str, str], within: float) -> int | None:
        """The response's status; None when the connection failed or the response was late."""
        try:
            timeout = aiohttp.ClientTimeout(total=within)
            async with session.get(scenario.path, params=query, timeout=timeout) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    async def timed(sent: float) -> int | None:
        status = await get(scenario.query, ideal + patience)
        if status is not None:
            latencies.append(time.perf_counter() - sent)
        return status

    async with session:
        quick = {**scenario.query, "seconds": "0"}
        ready = (await asyncio.gather(*(get(quick, patience) for _ in range(count)))).count(200)
        before = opened.count
        started = time.perf_counter()
        statuses = await asyncio.gather(*(timed(started) for _ in range(ready)))
        wall = time.perf_counter() - started
    spread = percentiles(latencies)
    late = opened.count - before
    return ScenarioResult(
        metrics={
            "wall_s": wall,
            "ideal_s": ideal,
            "overhead_s": wall - ideal,
            "completed": float(len(latencies)),
            "requests": float(count),
            "p50_ms": spread["p50"],
            "p99_ms": spread["p99"],
        },
        errors=count - statuses.count(200),
        notes=[f"{late} of {ready} connections were opened during the burst"] if late else [],
    )


def origin(base_url: str) -> dict[str, str]:
    """The Origin a page of the server itself sends: both apps refuse a foreign one."""
    return {"Origin": base_url}


async def open_ws(
    base_url: str, path: str, patience: float, cookie: str | None = None
) -> ClientConnection:
    """A websocket from a page of the server itself, with the Cookie header `cookie` if given."""
    return await connect(
        "ws" + base_url.removeprefix("http") + path,
        additional_headers=origin(base_url) | ({"Cookie": cookie} if cookie else {}),
        compression=None,
        open_timeout=patience,
        close_timeout=patience,
        max_size=None,
        max_queue=None,
        ping_interval=None,  # the load sends no pings of its own
    )


async def ws_echo(
    scenario: Scenario, base_url: str, seconds: float, patience: float
) -> ScenarioResult:
    """Each connection sends a message and waits for its echo, again and again."""
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def open_one() -> ClientConnection:
        async with gate:
            return await open_ws(base_url, scenario.path, patience)

    sockets = await asyncio.gather(*(open_one() for _ in range(scenario.connections)))
    message = "x" * scenario.message_bytes
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def loop(ws: ClientConnection) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                await ws.send(message)
                reply = await asyncio.wait_for(ws.recv(), patience)
            except (TimeoutError, ConnectionClosed):
                errors += 1
                return
            latencies.append(time.perf_counter() - sent)
            if reply != message:
                errors += 1

    await asyncio.gather(*(loop(ws) for ws in sockets))
    elapsed = time.perf_counter() - started
    await close_all(sockets, patience)
    spread = percentiles(latencies)
    return ScenarioResult(
        metrics={
            "msgs_per_s": len(latencies) / elapsed,
            "connections": float(scenario.connections),
            "p50_ms": spread["p50"],
            "p99_ms": spread["p99"],
        },
        errors=errors,
    )


async def session_cookie(base_url: str, patience: float) -> str:
    """A new user signed up and logged in, as a page would (the CSRF token of GET /csrf): the
    Cookie header of its session."""
    credentials = {"username": f"bench-{uuid.uuid4().hex[:12]}", "password": PASSWORD}
    jar = aiohttp.CookieJar(unsafe=True)  # the server is an IP address: keep its cookies
    timeout = aiohttp.ClientTimeout(total=patience)
    async with aiohttp.ClientSession(base_url, cookie_jar=jar, timeout=timeout) as session:
        async with session.post("/accounts", json=credentials) as response:
            response.raise_for_status()
        async with session.get("/csrf") as response:
            token = (await response.json())["csrf"]
        headers = {"X-CSRFToken": token}
        async with session.post("/session", json=credentials, headers=headers) as response:
            response.raise_for_status()
            return f"sessionid={response.cookies['sessionid'].value}"


async def ws_session(
    scenario: Scenario, base_url: str, seconds: float, patience: float
) -> ScenarioResult:
    """Each client opens the websocket with a logged-in user's session cookie, waits for the
    hello that names the user, and closes it, again and again: the handshake's session read."""
    cookie = await session_cookie(base_url, patience)
    latencies: list[float] = []
    errors = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def loop() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                ws = await open_ws(base_url, scenario.path, patience, cookie)
                hello = json.loads(await asyncio.wait_for(ws.recv(), patience))
                latencies.append(time.perf_counter() - sent)
                await ws.close()
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake):
                errors += 1
                return
            if hello.get("type") != "hello":
                errors += 1

    await asyncio.gather(*(loop() for _ in range(scenario.connections)))
    elapsed = time.perf_counter() - started
    spread = percentiles(latencies)
    return ScenarioResult(
        metrics={
            "p50_ms": spread["p50"],
            "p99_ms": spread["p99"],
            "handshakes_per_s": len(latencies) / elapsed,
            "connections": float(scenario.connections),
        },
        errors=errors,
    )


async def ws_idle(
    scenario: Scenario,
    base_url: str,
    seconds: float,
    patience: float,
    warmup: bool,
    server: Sequence[int],
) -> ScenarioResult:
    """Open `connections` websockets and leave them idle for `seconds`: the server's RSS (its
    process tree) before and after, per connection still open then; how many opened, and how
    many still answer a ping after. A connection refused or dropped is counted, not raised."""
    count = min(scenario.connections, 20) if warmup else scenario.connections
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    failures: collections.Counter[str] = collections.Counter()
    sockets: list[ClientConnection] = []

    async def open_one() -> None:
        async with gate:
            try:
                sockets.append(await open_ws(base_url, scenario.path, patience))
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as error:
                failures[f"{type(error).__name__}: {error}"[:120]] += 1

    def memory() -> int:
        """The server's RSS once it is idle (a handshake's work may still be finishing)."""
        settle(server)
        return rss_bytes(process_tree(server))

    before = await asyncio.to_thread(memory)
    started = time.perf_counter()
    try:
        async with asyncio.timeout(OPEN_BUDGET):
            await asyncio.gather(*(open_one() for _ in range(count)))
    except TimeoutError:
        failures["not opened within the budget"] += count - len(sockets) - failures.total()
    opening = time.perf_counter() - started
    await asyncio.sleep(seconds)
    after = await asyncio.to_thread(memory)
    still_open = sum(ws.state is State.OPEN for ws in sockets)

    async def answers(ws: ClientConnection) -> bool:
        """A pong within `patience`: a hundred pings at a time, as they were opened."""
        async with gate:
            try:
                await asyncio.wait_for(await ws.ping(), patience)
            except (TimeoutError, ConnectionClosed):
                return False
            return True

    alive = sum(await asyncio.gather(*(answers(ws) for ws in sockets)))
    await close_all(sockets, patience)
    notes = [f"{n} of {count} connections did not open: {why}" for why, n in failures.items()]
    if alive < len(sockets):
        notes.append(
            f"{len(sockets) - alive} of the {len(sockets)} opened did not answer a ping within"
            f" {patience:g} s after the wait ({len(sockets) - still_open} were closed by then)"
        )
    grown = after - before
    return ScenarioResult(
        metrics={
            "kib_per_connection": grown / 1024 / still_open if still_open else float("nan"),
            "connections": float(count),
            "opened": float(len(sockets)),
            "open": float(alive),
            "open_at_reading": float(still_open),
            "rss_before_mib": before / 2**20,
            "rss_after_mib": after / 2**20,
            "opening_s": opening,
        },
        errors=count - alive,
        notes=notes,
    )


@dataclass
class Member:
    """One member of the chat room: its socket, and when each message reached it."""

    ws: ClientConnection
    members_seen: int = 0
    frames: int = 0
    received: dict[str, float] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


async def read_frames(member: Member, on_message: Mapping[str, Any]) -> None:
    try:
        async for frame in member.ws:
            now = time.perf_counter()
            member.frames += 1
            event = json.loads(frame)
            if event.get("type") == "join":
                member.members_seen = max(member.members_seen, event["members"])
            elif event.get("type") == "message":
                member.received[event["message"]] = now
                on_message["arrived"](event["message"])
    except ConnectionClosed:
        pass


async def chat(scenario: Scenario, base_url: str, patience: float, warmup: bool) -> ScenarioResult:
    """`members` join one room; one sends messages one at a time; send-to-last-receipt latency.
    Each phase has a budget, so that a server that cannot keep up still ends the measurement."""
    count = min(scenario.members, 20) if warmup else scenario.members
    messages = min(scenario.messages, 3) if warmup else scenario.messages
    room = f"{scenario.path}-{time.monotonic_ns() % 10**9}"  # a fresh room each time
    notes: list[str] = []
    members: list[Member] = []
    readers: list[asyncio.Task[None]] = []
    counts: dict[str, int] = {}
    complete: dict[str, asyncio.Event] = {}

    def arrived(text: str) -> None:
        counts[text] = counts.get(text, 0) + 1
        if counts[text] >= len(members) and text in complete:
            complete[text].set()

    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    failures: collections.Counter[str] = collections.Counter()
    join_started = time.perf_counter()

    async def join() -> None:
        async with gate:
            try:
                ws = await open_ws(base_url, room, patience)
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as error:
                failures[f"{type(error).__name__}: {error}"[:120]] += 1
                return
        member = Member(ws)
        members.append(member)
        readers.append(asyncio.create_task(read_frames(member, {"arrived": arrived})))

    try:
        async with asyncio.timeout(JOIN_BUDGET):
            await asyncio.gather(*(join() for _ in range(count)))
    except TimeoutError:
        failures[f"not joined within the {JOIN_BUDGET:g} s budget"] += count - len(members)
    # Every join is sent to every member: wait until the last one's count reached them all, or
    # until no frame came for a second (a layer that drops frames).
    deadline = time.perf_counter() + JOIN_BUDGET
    last_total, quiet_since = -1, time.perf_counter()
    while time.perf_counter() < deadline:
        if all(m.members_seen >= len(members) for m in members):
            break
        total = sum(m.frames for m in members)
        if total != last_total:
            last_total, quiet_since = total, time.perf_counter()
        elif time.perf_counter() - quiet_since > 1.0:
            notes.append("some members never saw the last join: frames were dropped")
            break
        await asyncio.sleep(0.02)
    else:
        notes.append(f"the joins had not reached every member after {JOIN_BUDGET:g} s")
    settled = time.perf_counter() - join_started
    notes += [f"{n} of {count} members could not join: {why}" for why, n in failures.items()]
    join_frames = sum(m.frames for m in members)
    latencies: list[float] = []
    sent_count, missed_in_a_row = 0, 0
    sender = members[0] if members else None
    for index in range(messages if sender else 0):
        assert sender is not None
        text = f"bench {index}"
        complete[text] = asyncio.Event()
        sent = time.perf_counter()
        try:
            await sender.ws.send(json.dumps({"message": text}))
        except ConnectionClosed as closed:
            notes.append(f"the sender's connection closed: {closed}")
            break
        sent_count += 1
        try:
            await asyncio.wait_for(complete[text].wait(), patience)
            missed_in_a_row = 0
        except TimeoutError:
            missed_in_a_row += 1
        times = [m.received[text] for m in members if text in m.received]
        if times:
            latencies.append(max(times) - sent)
        if missed_in_a_row == 2:
            notes.append(f"stopped after {sent_count} messages: two in a row missed members")
            break
    received = sum(counts.values())
    expected = sent_count * len(members)
    await close_all([m.ws for m in members], patience)
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    spread = percentiles(latencies)
    return ScenarioResult(
        metrics={
            "p50_ms": spread["p50"],
            "p99_ms": spread["p99"],
            "members": float(len(members)),
            "messages": float(sent_count),
            "received": float(received),
            "expected": float(expected),
            "received_pct": 100.0 * received / expected if expected else 0.0,
            "join_s": settled,
            "join_frames": float(join_frames),
            "join_frames_expected": float(len(members) * (len(members) + 1) // 2),
        },
        errors=sum(failures.values()) + (expected - received),
        notes=notes,
    )


async def close_all(sockets: list[ClientConnection], patience: float) -> None:
    """Close every socket at once; whatever has not closed within `patience` is dropped."""
    try:
        async with asyncio.timeout(patience):
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    except TimeoutError:
        for ws in sockets:
            ws.transport.abort()
