"""URL routes, in the same order as django_app/realtime/routing.py."""

from aiohttp import web

from aiohttp_app.accounts.storage import with_session
from aiohttp_app.realtime import websockets


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            # Any room, even none or one with a slash or a line feed ((?s) lets . match it): the
            # handler refuses a bad name with 403. with_session: a logged-in member is named by
            # the session's user (Channels' AuthMiddlewareStack wraps Django's websocket routes).
            web.get(
                "/ws/chat/{room:(?s:.*)}",
                with_session(websockets.chat),
                name="ws-chat",
                allow_head=False,
            ),
        ]
    )
