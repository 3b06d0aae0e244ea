"""Sessions and log-in counts across processes and servers (50-accounts): what a case cannot say."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from shared.harness.client import http_client, origin_of
from shared.harness.targets import Server
from shared.runtime.accounts import LOGIN_ATTEMPTS, LOGIN_WINDOW_SECONDS
from tests.plugins.servers import Live, ServerPool, parametrize_targets

PASSWORD = "correct horse battery"
ASKED = 20  # GET /me on a connection of its own each: a two-worker server serves it from both
SHORT_AGE = 4  # seconds: SESSION_MAX_AGE of the expiry test's servers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test on every selected target (its known differences: expected.toml)."""
    parametrize_targets(metafunc, scope="module")


async def csrf_token(client: httpx.AsyncClient) -> dict[str, str]:
    """The X-CSRFToken header of a token GET /csrf answers (its cookie now in the client's jar)."""
    response = await client.get("/csrf")
    return {"X-CSRFToken": response.json()["csrf"]}


async def logged_in(base_url: str) -> tuple[str, str]:
    """A new user, signed up and logged in: its name and its session key."""
    username = f"u-{uuid.uuid4().hex[:12]}"
    credentials = {"username": username, "password": PASSWORD}
    async with http_client(base_url) as client:
        assert (await client.post("/accounts", json=credentials)).status_code == 201
        token = await csrf_token(client)
        response = await client.post("/session", json=credentials, headers=token)
        assert response.status_code == 200, response.text
        return username, response.cookies["sessionid"]


async def log_out(base_url: str, key: str) -> None:
    async with http_client(base_url, cookies={"sessionid": key}) as client:
        token = await csrf_token(client)
        assert (await client.delete("/session", headers=token)).status_code == 204


async def me(base_url: str, key: str) -> httpx.Response:
    """GET /me with the session cookie, on a connection (a client) of its own."""
    async with http_client(base_url, cookies={"sessionid": key}) as client:
        return await client.get("/me")


@pytest.mark.behaviour("session")
async def test_every_worker_honours_a_session(live: Live) -> None:
    """aiohttp-gunicorn's two workers share the session through Redis: whichever worker takes a
    connection knows the user (on a one-process server, that one process does)."""
    username, key = await logged_in(live.base_url)
    answers = await asyncio.gather(*(me(live.base_url, key) for _ in range(ASKED)))
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"username": username})] * ASKED


@pytest.mark.behaviour("session")
async def test_a_logged_out_key_is_no_session(live: Live) -> None:
    """Logging out ends the session where it is stored, not only in the client's cookie jar: the
    old key sent again is 401."""
    _, key = await logged_in(live.base_url)
    await log_out(live.base_url, key)
    assert (await me(live.base_url, key)).status_code == 401


@pytest.fixture(scope="module")
def replicas(servers: ServerPool, target: str, redis_url: str) -> Iterator[tuple[Server, Server]]:
    """Two servers of the target on one database, with REDIS_URL: replicas (the first makes the
    schema), for this module's tests of what they share."""
    env = {"REDIS_URL": redis_url, "DATABASE_URL": servers.databases.url_for(f"{target}-replicas")}
    with servers.two(target, f"{target}-replica", env) as pair:
        yield pair


@pytest.mark.behaviour("session")
async def test_a_second_server_honours_a_session_through_redis(
    replicas: tuple[Server, Server],
) -> None:
    """A session made through one replica is the other's too, and ended through the other."""
    a, b = replicas
    username, key = await logged_in(a.base_url)
    found = await me(b.base_url, key)
    assert (found.status_code, found.json()) == (200, {"username": username})
    await log_out(b.base_url, key)
    assert (await me(a.base_url, key)).status_code == 401


async def failed_log_in(base_url: str, username: str) -> httpx.Response:
    """POST /session with a wrong password, on a connection (a client) of its own."""
    async with http_client(base_url) as client:
        token = await csrf_token(client)
        credentials = {"username": username, "password": "not the password"}
        return await client.post("/session", json=credentials, headers=token)


@pytest.mark.behaviour("login-throttle")
async def test_every_worker_counts_a_name_s_log_ins(live: Live) -> None:
    """Failed log-ins for one name, each on a connection of its own: aiohttp-gunicorn's two
    workers count them together in Redis, so the sixth is refused whichever worker takes it."""
    username = f"u-{uuid.uuid4().hex[:12]}"
    answers = [await failed_log_in(live.base_url, username) for _ in range(LOGIN_ATTEMPTS + 1)]
    assert [a.status_code for a in answers] == [401] * LOGIN_ATTEMPTS + [429]
    assert answers[-1].json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(answers[-1].headers["retry-after"]) <= LOGIN_WINDOW_SECONDS


@pytest.mark.behaviour("login-throttle")
async def test_replicas_count_a_name_s_log_ins_together_through_redis(
    replicas: tuple[Server, Server],
) -> None:
    """Failed log-ins for one name, sent to either replica in turn, are counted together in
    Redis: the sixth is refused wherever it goes, and so is the next on the other replica."""
    username = f"u-{uuid.uuid4().hex[:12]}"
    order = [replicas[n % 2].base_url for n in range(LOGIN_ATTEMPTS + 2)]
    answers = [await failed_log_in(base_url, username) for base_url in order]
    assert [a.status_code for a in answers] == [401] * LOGIN_ATTEMPTS + [429, 429]
    assert all(1 <= int(a.headers["retry-after"]) <= LOGIN_WINDOW_SECONDS for a in answers[-2:])


@pytest.mark.behaviour("session")
async def test_a_session_past_its_age_is_no_session(servers: ServerPool, target: str) -> None:
    """A server of the target whose sessions live SESSION_MAX_AGE seconds: a session is the
    user's until then, and after it the same key is 401, by the framework's own expiry (the
    client sends the key itself, as a jar that ignored Max-Age would)."""
    if target in servers.urls:
        pytest.skip(f"not run: {target} is given by --target-url; this test starts its own")
    server = servers.spawn(target, f"{target}-expiry", {"SESSION_MAX_AGE": str(SHORT_AGE)})
    try:
        username, key = await logged_in(server.base_url)
        logged_in_at = time.monotonic()
        found = await me(server.base_url, key)
        assert time.monotonic() - logged_in_at < SHORT_AGE, "too slow to see the session alive"
        assert (found.status_code, found.json()) == (200, {"username": username})
        await asyncio.sleep(SHORT_AGE + 2 - (time.monotonic() - logged_in_at))
        expired = await me(server.base_url, key)
        assert (expired.status_code, expired.json()["error"]["code"]) == (401, "not_authenticated")
    finally:
        server.stop()


@asynccontextmanager
async def websocket(live: Live, path: str, key: str | None) -> AsyncIterator[ClientConnection]:
    """A websocket from a page of the server itself, with the session cookie when given."""
    headers = {"Origin": origin_of(live.ws_url)} | ({"Cookie": f"sessionid={key}"} if key else {})
    async with connect(live.ws_url + path, additional_headers=headers, open_timeout=30) as ws:
        yield ws


async def frame(ws: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), 30))


async def message(ws: ClientConnection) -> Any:
    """The next chat message, past join and leave notices."""
    while (found := await frame(ws))["type"] != "message":
        pass
    return found


@pytest.mark.behaviour("ws-auth")
@pytest.mark.needs("websocket")
async def test_ws_me_greets_the_session_s_user(live: Live) -> None:
    """The handshake carries the session cookie, as a browser sends it: the user is known."""
    username, key = await logged_in(live.base_url)
    async with websocket(live, "/ws/me", key) as ws:
        assert await frame(ws) == {"type": "hello", "username": username}


@pytest.mark.behaviour("ws-auth")
@pytest.mark.needs("websocket")
async def test_a_chat_names_a_logged_in_member_and_numbers_a_visitor(live: Live) -> None:
    username, key = await logged_in(live.base_url)
    room = f"/ws/chat/auth-{uuid.uuid4().hex[:12]}"
    async with websocket(live, room, key) as member, websocket(live, room, None) as visitor:
        # Both in the room (join notices: across a two-worker server's processes, one from
        # before the visitor joined may still reach it, so they are not counted here).
        while (await frame(visitor))["members"] != 2:
            pass
        await member.send(json.dumps({"message": "hi"}))  # every member gets it, the sender too
        assert [(await message(ws))["from"] for ws in (member, visitor)] == [username] * 2
        await visitor.send(json.dumps({"message": "hello"}))
        senders = {(await message(ws))["from"] for ws in (member, visitor)}
        assert len(senders) == 1 and re.fullmatch(r"[0-9a-f]{16}", senders.pop())
