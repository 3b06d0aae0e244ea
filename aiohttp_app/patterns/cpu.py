"""CPU-bound work in a process pool, and on the event loop (the pitfall); django_app mirrors it."""

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor

from aiohttp import web

from aiohttp_app.params import query
from aiohttp_app.settings import dumps, settings
from shared.runtime.cpu import CPU_MAX_ROUNDS, POOL_CONTEXT, digest
from shared.runtime.validation import parse_int

cpu_pool = web.AppKey("cpu_pool", ProcessPoolExecutor)


async def cpu(request: web.Request) -> web.Response:
    rounds = parse_int(query(request, "rounds"), "rounds", 1, CPU_MAX_ROUNDS)
    loop = asyncio.get_running_loop()
    found = await loop.run_in_executor(request.app[cpu_pool], digest, rounds)
    return web.json_response({"rounds": rounds, "digest": found}, dumps=request.app[dumps])


async def pitfall_cpu(request: web.Request) -> web.Response:
    rounds = parse_int(query(request, "rounds"), "rounds", 1, CPU_MAX_ROUNDS)
    # THE ANTI-PATTERN: the work runs in the event loop's thread, and every other request waits.
    found = digest(rounds)
    return web.json_response({"rounds": rounds, "digest": found}, dumps=request.app[dumps])


async def cpu_pool_context(app: web.Application) -> AsyncIterator[None]:
    pool = ProcessPoolExecutor(app[settings].cpu_workers, mp_context=POOL_CONTEXT)
    app[cpu_pool] = pool
    yield
    # shutdown() waits for the work in progress: in a thread, so the loop goes on meanwhile.
    await asyncio.to_thread(pool.shutdown, cancel_futures=True)
