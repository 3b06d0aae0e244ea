"""Websocket handlers; django_app/basics/consumers.py has the same ones, in the same order."""

import weakref

from aiohttp import web

from aiohttp_app.handshakes import require_websocket
from aiohttp_app.settings import settings
from shared.runtime.validation import WS_MAX_MESSAGE_BYTES

open_websockets = web.AppKey("open_websockets", weakref.WeakSet[web.WebSocketResponse])

# aiohttp refuses a message of exactly max_msg_size bytes (`>=` in aiohttp/_websocket/reader_py.py);
# daphne, uvicorn and hypercorn accept their limit itself. One byte more makes them agree.
MAX_MSG_SIZE = WS_MAX_MESSAGE_BYTES + 1


async def echo(request: web.Request) -> web.WebSocketResponse:
    require_websocket(request)
    ws = web.WebSocketResponse(
        max_msg_size=MAX_MSG_SIZE, heartbeat=request.app[settings].ws_ping_interval
    )
    await ws.prepare(request)
    request.app[open_websockets].add(ws)
    try:
        async for msg in ws:
            if msg.type is web.WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is web.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
    finally:
        request.app[open_websockets].discard(ws)
    return ws


async def greet(request: web.Request) -> web.WebSocketResponse:
    require_websocket(request)
    ws = web.WebSocketResponse(
        max_msg_size=MAX_MSG_SIZE, heartbeat=request.app[settings].ws_ping_interval
    )
    await ws.prepare(request)
    request.app[open_websockets].add(ws)
    try:
        async for msg in ws:
            if msg.type is web.WSMsgType.TEXT:
                await ws.send_str(f"Hello, {msg.data}")
            elif msg.type is web.WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
    finally:
        request.app[open_websockets].discard(ws)
    return ws
