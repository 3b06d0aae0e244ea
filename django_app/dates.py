"""A Date on every HTTP answer (RFC 9110 §6.6.1), for the ASGI server that sends none: daphne."""

from asgiref.typing import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    Scope,
)
from django.utils.http import http_date


def with_date(application: ASGI3Application) -> ASGI3Application:
    """`application`, its HTTP answers given a Date where they have none. aiohttp, uvicorn,
    hypercorn and gunicorn add one themselves; Django never does."""

    async def dated(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            return await application(scope, receive, send)

        async def send_dated(message: ASGISendEvent) -> None:
            if message["type"] == "http.response.start":
                headers = list(message["headers"])
                if not any(name.lower() == b"date" for name, _ in headers):
                    headers.append((b"date", http_date().encode()))
                message = {**message, "headers": headers}
            await send(message)

        await application(scope, receive, send_dated)

    return dated
