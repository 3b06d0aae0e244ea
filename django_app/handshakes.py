"""Websocket handshakes refused (403, 404), with the JSON body where the server can send one;
426 for a plain HTTP request to a websocket route."""

import json
from typing import cast
from urllib.parse import urlparse

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, WebSocketScope
from channels.security import websocket as channels_security
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from shared.runtime.errors import ApiError


async def refuse(scope: WebSocketScope, send: ASGISendCallable, error: ApiError) -> None:
    """Refuse a handshake with the error's status and JSON body (the websocket.http.response
    extension), or, where the server lacks the extension, with a close: it then answers 403."""
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1000, "reason": ""})
        return
    body = json.dumps(error.body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send(
        {"type": "websocket.http.response.start", "status": error.status, "headers": headers}
    )
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})


async def not_found(
    scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
) -> None:
    """The last websocket route: a handshake no other route takes gets 404, not URLRouter's
    ValueError (a 500)."""
    await receive()  # websocket.connect: the handshake is answered after it
    await refuse(scope, send, ApiError("not_found"))


class OriginMiddleware(channels_security.OriginValidator):
    """Channels' OriginValidator, refusing with the JSON body; its own refusal is a bare close."""

    async def __call__(
        self, scope: WebSocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        # A repeated Origin is read as its values joined with ",", as Django reads a repeated
        # header (Channels' own check takes the last).
        origins = [value for name, value in scope["headers"] if name == b"origin"]
        origin = b",".join(origins).decode("latin1") if origins else None
        try:
            allowed = self.valid_origin(urlparse(origin) if origin is not None else None)
        except ValueError:  # not a URL: `http://[::1` (an unclosed IPv6 host), or a bad port
            allowed = "*" in self.allowed_origins
        if allowed:
            # types-channels allows an ASGI 2 application here; Channels calls it as ASGI 3.
            application = cast(ASGI3Application, self.application)
            return await application(scope, receive, send)
        await receive()  # websocket.connect: the handshake is answered after it
        await refuse(scope, send, ApiError("forbidden_origin"))


def origin_middleware(application: ASGI3Application) -> OriginMiddleware:
    """Every websocket handshake's Origin checked before any route, as aiohttp_app's
    origin_middleware: Channels' AllowedHostsOriginValidator (ALLOWED_HOSTS are the allowed
    origins' hosts), with the middleware above."""
    allowed = channels_security.AllowedHostsOriginValidator(application).allowed_origins
    return OriginMiddleware(application, allowed)


@require_GET
async def websocket_required(request: HttpRequest, **path: str) -> HttpResponse:
    """The HTTP route of each websocket path (Channels' routes take websocket handshakes only):
    a plain request gets 426 and Upgrade: websocket, a method other than GET 405."""
    raise ApiError("websocket_required")
