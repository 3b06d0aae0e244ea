"""Websocket handlers; django_app/realtime/consumers.py has the same ones, in the same order."""

import secrets

from aiohttp import WSCloseCode, web

from aiohttp_app.accounts.auth import get_user
from aiohttp_app.basics.websockets import MAX_MSG_SIZE, open_websockets
from aiohttp_app.handshakes import require_websocket
from aiohttp_app.realtime.rooms import chat_rooms
from aiohttp_app.settings import settings
from shared.runtime.errors import ApiError
from shared.runtime.validation import (
    chat_message_too_big,
    check_room,
    parse_chat_message,
)


async def chat(request: web.Request) -> web.WebSocketResponse:
    require_websocket(request)
    room = request.match_info["room"]
    check_room(room)
    user = await get_user(request)  # the session's, from the handshake's cookie (ws-auth)
    # Every message up to the server's limit, as a consumer gets it: the handler checks the chat's
    # own once the message is read. max_msg_size at the chat's limit would refuse it unread, and
    # the socket closed with the rest of it unread is reset (nginx in front then loses the 1009).
    ws = web.WebSocketResponse(
        max_msg_size=MAX_MSG_SIZE, heartbeat=request.app[settings].ws_ping_interval
    )
    await ws.prepare(request)
    request.app[open_websockets].add(ws)
    rooms = request.app[chat_rooms]
    member = secrets.token_hex(8)
    sender = user.username if user is not None else member  # a visitor is known by its id
    try:
        await rooms.join(room, member, ws)
        async for msg in ws:
            if msg.type not in (web.WSMsgType.TEXT, web.WSMsgType.BINARY):
                continue  # the ERROR that aiohttp yields as it closes with 1009 past max_msg_size
            if chat_message_too_big(msg.data):
                await ws.close(code=WSCloseCode.MESSAGE_TOO_BIG)
                break
            try:
                message = parse_chat_message(msg.data)
            except ApiError as error:
                await ws.send_json({"type": "error", **error.body})
                continue
            event = {"type": "message", "room": room, "message": message, "from": sender}
            await rooms.publish(room, event)
    finally:
        await rooms.leave(room, member, ws)
        request.app[open_websockets].discard(ws)
    return ws
