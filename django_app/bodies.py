"""Request bodies: the deadline they arrive by, and reading a JSON object; mirrored by aiohttp's."""

import asyncio
from collections.abc import Mapping
from typing import Any

from asgiref.typing import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

from django_app.params import header
from shared.runtime.validation import (
    Field,
    body_due,
    check_content_encoding,
    check_json_content_type,
    parse_json_object,
    too_large,
)

LATE = "body_late"  # a key of the request's ASGI scope: its body was cut short


def body_deadline(application: ASGI3Application) -> ASGI3Application:
    """A body that comes slower than validation.body_due allows is ended where it is, and the
    request marked LATE; ErrorMiddleware answers it 408 before any view (body_timed_out).
    Django's ASGI handler reads the whole body before the middleware chain, with no timeout of
    its own (nor have uvicorn and hypercorn); aiohttp's is a middleware. daphne hands on a
    body only once it is whole, and WSGI reads it blocking: neither reaches this."""

    async def timed(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http" or not has_body(scope):
            return await application(scope, receive, send)
        loop = asyncio.get_running_loop()
        started, received, whole = loop.time(), 0, False

        async def receive_in_time() -> ASGIReceiveEvent:
            nonlocal received, whole
            if whole:
                # Django listens for a disconnect once it has the body: what a late body still
                # sends is read and dropped.
                while (message := await receive())["type"] == "http.request":
                    pass
                return message
            try:
                async with asyncio.timeout_at(started + body_due(received)):
                    message = await receive()
            except TimeoutError:
                whole = True
                scope[LATE] = True  # type: ignore[literal-required]  # a key of this app's own
                return {"type": "http.request", "body": b"", "more_body": False}
            if message["type"] == "http.request":
                received += len(message["body"])
                whole = not message["more_body"]
            return message

        await application(scope, receive_in_time, send)

    return timed


def has_body(scope: HTTPScope) -> bool:
    """A Content-Length over 0 or a Transfer-Encoding: what aiohttp's request.body_exists says.
    Without either the server sends an empty body at once, with no time to run out."""
    return any(
        name == b"transfer-encoding" or (name == b"content-length" and int(value) > 0)
        for name, value in scope["headers"]
    )


def body_timed_out(request: HttpRequest) -> bool:
    """Whether body_deadline cut this request's body short (never under WSGI: no scope)."""
    return bool(getattr(request, "scope", {}).get(LATE))


async def read_json(
    request: HttpRequest, fields: Mapping[str, Field], *, partial: bool = False
) -> dict[str, Any]:
    """415 unless plain JSON, 413 over DATA_UPLOAD_MAX_MEMORY_SIZE, 400 naming the field."""
    check_json_content_type(header(request, "Content-Type"))
    check_content_encoding(header(request, "Content-Encoding"))
    try:
        # Django's ASGI handler received the whole body before the view ran: no await here.
        body = request.body
    except RequestDataTooBig:
        raise too_large() from None
    return parse_json_object(body, fields, partial=partial)
