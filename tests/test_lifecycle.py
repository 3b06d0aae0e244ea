"""Liveness and shutdown on every target: pings, dead peers, SIGTERM with work in flight."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from shared.harness.client import http_client
from shared.harness.expected import expected, lifecycle_checks
from shared.harness.tables import block, lifecycle_table, with_block
from shared.harness.targets import PROJECT_ROOT, Server
from tests.plugins.servers import ServerPool, parametrize_targets

PING = {"WS_PING_INTERVAL": "1", "WS_PING_TIMEOUT": "1"}  # seconds, for these tests only
SLACK = 5.0  # seconds on top of what the server was told: generous, so this never flakes
OP_CLOSE, OP_PING = 0x8, 0x9


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_targets(metafunc, scope="module")


def own_server(servers: ServerPool, target: str, instance: str) -> Server:
    """A server of its own: these tests signal it or give it other settings."""
    if target in servers.urls:
        pytest.skip(
            f"not run: {target} runs elsewhere ({servers.urls[target]}); it cannot be signalled"
        )
    return servers.spawn(target, f"{target}-{instance}", env=PING)


async def raw_websocket(server: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A handshake by hand: the websockets client would answer pings by itself."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws/echo HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {server.base_url}\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), SLACK)
    if not head.startswith(b"HTTP/1.1 101"):
        writer.close()
        await writer.wait_closed()
        raise AssertionError(f"handshake refused: {head!r}")
    return reader, writer


async def next_frame(reader: asyncio.StreamReader) -> int | None:
    """The opcode of the server's next frame (its payload skipped), or None at end of stream."""
    try:
        first, second = await reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(await reader.readexactly(2))
        elif length == 127:
            length = int.from_bytes(await reader.readexactly(8))
        await reader.readexactly(length)  # a server's frames are not masked
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return first & 0x0F


@pytest.fixture(scope="module")
def pinging(servers: ServerPool, target: str) -> Iterator[Server]:
    server = own_server(servers, target, "ping")
    yield server
    server.stop()


@pytest.mark.lifecycle("idle-ping")
@pytest.mark.needs("websocket")
def test_idle_ping(pinging: Server) -> None:
    """An idle websocket is pinged within the interval (1 s here)."""

    async def first_frame() -> int | None:
        reader, writer = await raw_websocket(pinging)
        try:
            return await asyncio.wait_for(next_frame(reader), 1 + SLACK)
        finally:
            writer.close()

    assert asyncio.run(first_frame()) == OP_PING


@pytest.mark.lifecycle("dead-peer-dropped")
@pytest.mark.needs("websocket")
def test_dead_peer(pinging: Server) -> None:
    """A peer that never answers a ping is dropped within interval + timeout."""

    async def frames_until_dropped() -> list[int]:
        reader, writer = await raw_websocket(pinging)
        seen: list[int] = []
        try:
            async with asyncio.timeout(1 + 1 + SLACK):
                while (opcode := await next_frame(reader)) not in (None, OP_CLOSE):
                    seen.append(opcode)  # pings, never answered
        except TimeoutError:
            raise AssertionError(f"still connected; frames seen: {seen}") from None
        finally:
            writer.close()
        return seen

    assert OP_PING in asyncio.run(frames_until_dropped())


@dataclass(frozen=True)
class Shutdown:
    """What a client saw when the server got SIGTERM with a websocket and a request open."""

    close_code: int | None  # None: no close frame (the connection was dropped or never closed)
    response: str  # "200 {...}" or the error the request ended with
    exit_code: int | None


async def close_code(ws: ClientConnection | None) -> int | None:
    """The code of the close frame the server sends, if it sends one."""
    try:
        if ws is not None:
            await asyncio.wait_for(ws.recv(), SLACK)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        pass
    return None


async def sigterm_with_work_open(server: Server, websocket: bool) -> Shutdown:
    """A websocket (unless the target lacks them) and a request open, then SIGTERM."""
    assert server.process is not None
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(http_client(server.base_url, timeout=15))
        ws = None
        if websocket:
            ws = await stack.enter_async_context(
                connect(f"{server.ws_url}/ws/echo", origin=Origin(server.base_url))
            )
            await ws.send("before")
            assert await ws.recv() == "before"
        request = asyncio.create_task(client.get("/delay", params={"seconds": "1.5"}))
        await asyncio.sleep(0.5)  # the request is in the handler now
        server.process.send_signal(signal.SIGTERM)
        code = await close_code(ws)
        try:
            answer = await request
            response = f"{answer.status_code} {answer.text}"
        except httpx.HTTPError as error:
            response = f"{type(error).__name__}: {error}"
    try:
        exit_code = await asyncio.to_thread(server.process.wait, SLACK)
    except subprocess.TimeoutExpired:
        exit_code = None
    return Shutdown(code, response, exit_code)


@pytest.fixture(scope="module")
def shutdown(servers: ServerPool, target: str) -> Iterator[Shutdown]:
    server = own_server(servers, target, "sigterm")
    websocket = expected().lacking(target, ["websocket"]) is None
    try:
        yield asyncio.run(sigterm_with_work_open(server, websocket))
    finally:
        server.stop(timeout=2)  # it had its SIGTERM already


@pytest.mark.lifecycle("websocket-going-away")
@pytest.mark.needs("websocket")
def test_websocket_going_away(shutdown: Shutdown) -> None:
    """On SIGTERM an open websocket receives close 1001."""
    assert shutdown.close_code == 1001, shutdown


@pytest.mark.lifecycle("in-flight-http")
def test_in_flight_http(shutdown: Shutdown) -> None:
    """On SIGTERM a request in its handler still gets its response."""
    status, _, body = shutdown.response.partition(" ")
    assert status == "200", shutdown
    assert json.loads(body) == {"slept": 1.5}, shutdown  # compact or spaced: orjson, json


DOC = PROJECT_ROOT / "docs" / "lifecycle.md"
TABLE = "lifecycle-table"


def check_needs() -> dict[str, set[str]]:
    """What the test of each check declares with @pytest.mark.needs, by the check's name."""
    found: dict[str, set[str]] = {}
    for test in (test_idle_ping, test_dead_peer, test_websocket_going_away, test_in_flight_http):
        marks = getattr(test, "pytestmark", [])
        (check,) = (mark.args[0] for mark in marks if mark.name == "lifecycle")
        found[check] = {need for mark in marks if mark.name == "needs" for need in mark.args}
    return found


def test_the_doc_s_table_is_the_registry_s() -> None:
    """LIFECYCLE_UPDATE_DOCS=1 rewrites the doc's table from shared/harness/expected.toml."""
    text = DOC.read_text(encoding="utf-8")
    table = lifecycle_table(expected(), check_needs())
    if os.environ.get("LIFECYCLE_UPDATE_DOCS"):
        DOC.write_text(with_block(text, TABLE, table), encoding="utf-8")
        return
    assert block(text, TABLE) == table, "stale: rerun with LIFECYCLE_UPDATE_DOCS=1"


def test_every_check_has_its_test() -> None:
    assert set(check_needs()) == set(lifecycle_checks())
