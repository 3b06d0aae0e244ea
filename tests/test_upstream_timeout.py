"""UPSTREAM_TIMEOUT bounds a whole upstream call in both apps, however the upstream's body comes."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import pytest
from aiohttp import web
from django.test import override_settings
from pytest_aiohttp import AiohttpServer

from aiohttp_app.concurrency import upstream as aiohttp_upstream
from aiohttp_app.settings import from_env, settings
from django_app.concurrency import upstream as django_upstream
from shared.runtime.errors import ApiError

# The parity cases (tests/test_parity.py, fanout) time out an upstream that answers late; here the
# upstream answers at once and sends its body byte by byte, each byte well within the timeout, all
# of them well past it. A timeout per step (httpx's own) would wait for all of it.

TIMEOUT = 0.5  # UPSTREAM_TIMEOUT, in seconds
TRICKLE = 6.0  # the seconds over which the upstream sends its body
SLACK = 3.0  # on top of TIMEOUT, for a loaded machine: still well below TRICKLE

type Call = Callable[[str], Awaitable[object]]


async def trickling(request: web.Request) -> web.StreamResponse:
    body = json.dumps({"delay": 0.0, "status": 200}).encode()
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    try:
        for index in range(len(body)):
            await response.write(body[index : index + 1])
            await asyncio.sleep(TRICKLE / len(body))
    except ConnectionResetError:  # the client gave up: what the test expects
        pass
    return response


@pytest.fixture
async def upstream_url(aiohttp_server: AiohttpServer) -> str:
    app = web.Application()
    app.router.add_get("/upstream", trickling)
    server = await aiohttp_server(app)
    return str(server.make_url(""))


async def aiohttp_call(url: str) -> object:
    app = web.Application()
    app[settings] = replace(from_env(), upstream_url=url, upstream_timeout=TIMEOUT)
    context: AsyncIterator[None] = aiohttp_upstream.upstream_context(app)
    await anext(context)
    try:
        return await aiohttp_upstream.call_upstream(
            app[aiohttp_upstream.upstream], 0, 200, "trickle"
        )
    finally:
        await anext(context, None)


async def django_call(url: str) -> object:
    with override_settings(UPSTREAM_URL=url, UPSTREAM_TIMEOUT=TIMEOUT):
        try:
            return await django_upstream.call_upstream(0, 200, "trickle")
        finally:
            await django_upstream.aclose()


@pytest.mark.parametrize("call", [aiohttp_call, django_call], ids=["aiohttp", "django"])
async def test_a_body_trickling_in_past_the_timeout_is_upstream_timeout(
    call: Call, upstream_url: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(ApiError) as raised:
        await call(upstream_url)
    elapsed = time.perf_counter() - started
    assert raised.value.code == "upstream_timeout"
    assert TIMEOUT <= elapsed < TIMEOUT + SLACK, f"gave up after {elapsed:.2f} s"
