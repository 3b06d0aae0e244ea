"""Websocket handlers; django_app/accounts/consumers.py has the same ones, in the same order."""

from aiohttp import web

from aiohttp_app.accounts.auth import get_user
from aiohttp_app.basics.websockets import MAX_MSG_SIZE, open_websockets
from aiohttp_app.handshakes import require_websocket
from aiohttp_app.settings import settings
from shared.runtime.errors import ApiError


async def me(request: web.Request) -> web.WebSocketResponse:
    require_websocket(request)
    # The handshake is an HTTP request with the session cookie: read before prepare(), so that
    # a visitor is refused with the HTTP answer, as the chat refuses a bad room.
    user = await get_user(request)
    if user is None:
        raise ApiError("websocket_not_authenticated")
    ws = web.WebSocketResponse(
        max_msg_size=MAX_MSG_SIZE, heartbeat=request.app[settings].ws_ping_interval
    )
    await ws.prepare(request)
    request.app[open_websockets].add(ws)
    try:
        await ws.send_json({"type": "hello", "username": user.username})
        async for _ in ws:  # it says nothing more; the client closes
            pass
    finally:
        request.app[open_websockets].discard(ws)
    return ws
