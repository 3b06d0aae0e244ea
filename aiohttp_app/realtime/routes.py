"""URL routes, in the same order as django_app/realtime/routing.py."""

from aiohttp import web

from aiohttp_app.realtime import websockets


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            # Any room, even none or one with a slash or a line feed ((?s) lets . match it): the
            # handler refuses a bad name with 403.
            web.get("/ws/chat/{room:(?s:.*)}", websockets.chat, name="ws-chat", allow_head=False),
        ]
    )
