"""CPU-bound work in a process pool, and on the event loop (the pitfall); aiohttp_app mirrors it."""

import asyncio
from concurrent.futures import ProcessPoolExecutor

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from django_app.params import query
from shared.runtime.cpu import CPU_MAX_ROUNDS, POOL_CONTEXT, digest
from shared.runtime.validation import parse_int

# Django has no start-up hook under ASGI to make the pool in: it is made on first use, and shut
# down by concurrency/lifespan.py where the server sends the lifespan shutdown event (elsewhere,
# at the process's exit). A pool belongs to no event loop, so under WSGI, where each request runs
# in an event loop of its own, every request still finds the process's one pool.
_pool: ProcessPoolExecutor | None = None


@require_safe
async def cpu(request: HttpRequest) -> JsonResponse:
    rounds = parse_int(query(request, "rounds"), "rounds", 1, CPU_MAX_ROUNDS)
    loop = asyncio.get_running_loop()
    found = await loop.run_in_executor(pool(), digest, rounds)
    return JsonResponse({"rounds": rounds, "digest": found})


@require_safe
async def pitfall_cpu(request: HttpRequest) -> JsonResponse:
    rounds = parse_int(query(request, "rounds"), "rounds", 1, CPU_MAX_ROUNDS)
    # THE ANTI-PATTERN: the work runs in the event loop's thread, and every other request waits.
    found = digest(rounds)
    return JsonResponse({"rounds": rounds, "digest": found})


def pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(settings.CPU_WORKERS, mp_context=POOL_CONTEXT)
    return _pool


async def shutdown() -> None:
    global _pool
    if _pool is not None:
        # shutdown() waits for the work in progress: in a thread, so the loop goes on meanwhile.
        await asyncio.to_thread(_pool.shutdown, cancel_futures=True)
        _pool = None
