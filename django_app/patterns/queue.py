"""A producer and consumers on an asyncio.Queue, behind one view; aiohttp_app mirrors it."""

import asyncio

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from django_app.params import query
from shared.runtime.queues import QUEUE_MAX_ITEMS, QUEUE_MAX_SIZE, QUEUE_MAX_WORKERS, run_queue
from shared.runtime.validation import parse_int


@require_safe
async def queue(request: HttpRequest) -> JsonResponse:
    items = parse_int(query(request, "items"), "items", 1, QUEUE_MAX_ITEMS)
    workers = parse_int(query(request, "workers", "4"), "workers", 1, QUEUE_MAX_WORKERS)
    size = parse_int(query(request, "size", "10"), "size", 1, QUEUE_MAX_SIZE)
    done = await run_queue(asyncio.Queue(maxsize=size), items, workers)
    return JsonResponse({"items": items, "workers": workers, "size": size, **done})
