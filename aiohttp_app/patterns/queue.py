"""A producer and consumers on an asyncio.Queue, behind one handler; django_app mirrors it."""

import asyncio

from aiohttp import web

from aiohttp_app.params import query
from aiohttp_app.settings import dumps
from shared.runtime.queues import QUEUE_MAX_ITEMS, QUEUE_MAX_SIZE, QUEUE_MAX_WORKERS, run_queue
from shared.runtime.validation import parse_int


async def queue(request: web.Request) -> web.Response:
    items = parse_int(query(request, "items"), "items", 1, QUEUE_MAX_ITEMS)
    workers = parse_int(query(request, "workers", "4"), "workers", 1, QUEUE_MAX_WORKERS)
    size = parse_int(query(request, "size", "10"), "size", 1, QUEUE_MAX_SIZE)
    done = await run_queue(asyncio.Queue(maxsize=size), items, workers)
    return web.json_response(
        {"items": items, "workers": workers, "size": size, **done}, dumps=request.app[dumps]
    )
