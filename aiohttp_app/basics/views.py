"""HTTP handlers; django_app/basics/views.py has the same ones, in the same order."""

import asyncio

from aiohttp import web

from aiohttp_app.params import query
from shared.runtime.openapi import MEDIA_TYPE, read_document
from shared.runtime.validation import parse_seconds


async def hello(request: web.Request) -> web.Response:
    name = request.match_info.get("name", "Anonymous")
    return web.Response(text=f"Hello, {name}")


async def json_hello(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, async world!"})


async def delay(request: web.Request) -> web.Response:
    seconds = parse_seconds(query(request, "seconds"))
    await asyncio.sleep(seconds)
    return web.json_response({"slept": seconds})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=read_document(), content_type=MEDIA_TYPE)
