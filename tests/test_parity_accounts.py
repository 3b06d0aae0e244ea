"""Sessions across processes and servers, on every target (50-accounts): what a case cannot say."""

from __future__ import annotations

import asyncio
import os
import uuid

import httpx
import pytest

from shared.harness.client import http_client
from tests.plugins.servers import Live, ServerPool, parametrize_targets

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct horse battery"
ASKED = 20  # GET /me on a connection of its own each: a two-worker server serves it from both


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


@pytest.mark.behaviour("session")
async def test_a_second_server_honours_a_session_through_redis(
    servers: ServerPool, target: str, redis_url: str
) -> None:
    """Two servers of the target on one database (replicas), with REDIS_URL: a session made
    through one is the other's too, and ended through the other."""
    env = {"REDIS_URL": redis_url, "DATABASE_URL": servers.databases.url_for(f"{target}-replicas")}
    with servers.two(target, f"{target}-replica", env) as (a, b):  # the first makes the schema
        username, key = await logged_in(a.base_url)
        found = await me(b.base_url, key)
        assert (found.status_code, found.json()) == (200, {"username": username})
        await log_out(b.base_url, key)
        assert (await me(a.base_url, key)).status_code == 401
