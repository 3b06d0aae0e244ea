"""HTTP handlers; django_app/basics/views.py has the same ones, in the same order."""

import asyncio

from aiohttp import web
from sqlalchemy import text

from aiohttp_app.concurrency.state import redis
from aiohttp_app.data.db import sessions
from aiohttp_app.params import query
from aiohttp_app.settings import dumps
from shared.runtime.health import LIVE_BODY, readiness, state_of
from shared.runtime.openapi import MEDIA_TYPE, read_document
from shared.runtime.validation import parse_seconds


async def hello(request: web.Request) -> web.Response:
    name = request.match_info.get("name", "Anonymous")
    return web.Response(text=f"Hello, {name}")


async def json_hello(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, async world!"}, dumps=request.app[dumps])


async def delay(request: web.Request) -> web.Response:
    seconds = parse_seconds(query(request, "seconds"))
    await asyncio.sleep(seconds)
    return web.json_response({"slept": seconds}, dumps=request.app[dumps])


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=read_document(), content_type=MEDIA_TYPE)


async def health_live(request: web.Request) -> web.Response:
    return web.json_response(LIVE_BODY, dumps=request.app[dumps])


async def health_ready(request: web.Request) -> web.Response:
    client = request.app[redis]
    checks = {
        "database": await state_of("database", select_one(request)),
        "redis": await state_of("redis", client.ping() if client else None),
    }
    return web.json_response(readiness(checks), dumps=request.app[dumps])


async def select_one(request: web.Request) -> None:
    async with request.app[sessions]() as session:
        await session.execute(text("SELECT 1"))
