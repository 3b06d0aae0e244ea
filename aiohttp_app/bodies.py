"""Request bodies: the deadline they arrive by, and reading a JSON object; mirrored by Django's."""

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from aiohttp_app.params import header
from shared.runtime.errors import ApiError
from shared.runtime.validation import (
    Field,
    body_due,
    check_content_encoding,
    check_json_content_type,
    parse_json_object,
    too_large,
)


@web.middleware
async def body_deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """408 for a body that comes slower than validation.body_due allows: the handler waiting
    for it is cancelled. aiohttp has no timeout for a body (its keep-alive timer stops while a
    handler runs); Django's is a wrapper of the ASGI application, which reads the body first."""
    if not request.body_exists:
        return await handler(request)
    loop = asyncio.get_running_loop()
    started, body = loop.time(), request.content
    deadline = asyncio.timeout(None)
    timer: asyncio.TimerHandle

    def check() -> None:
        nonlocal timer
        if body.is_eof():
            return
        due = started + body_due(body.total_bytes)
        if loop.time() < due:
            timer = loop.call_at(due, check)
        else:
            deadline.reschedule(loop.time())

    timer = loop.call_at(started + body_due(0), check)
    try:
        async with deadline:
            return await handler(request)
    except TimeoutError:
        if not deadline.expired():
            raise
        raise ApiError("request_timeout") from None
    finally:
        timer.cancel()


async def read_json(
    request: web.Request, fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """415 unless plain JSON, 413 over the app's client_max_size, 400 naming the field."""
    check_json_content_type(header(request, hdrs.CONTENT_TYPE))
    check_content_encoding(header(request, hdrs.CONTENT_ENCODING))
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    return parse_json_object(body, fields, partial=partial)
