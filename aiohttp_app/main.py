"""The application factory: middlewares, each part's routes, and shared state under AppKeys."""

import weakref

from aiohttp import WSCloseCode, web

from aiohttp_app import basics
from aiohttp_app.basics.middlewares import error_middleware
from aiohttp_app.basics.websockets import websockets
from aiohttp_app.settings import from_env, settings
from shared.validation import JSON_BODY_MAX_BYTES


async def close_websockets(app: web.Application) -> None:
    for ws in set(app[websockets]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutdown")


def create_app() -> web.Application:
    app = web.Application(middlewares=[error_middleware], client_max_size=JSON_BODY_MAX_BYTES)
    app[settings] = from_env()
    app[websockets] = weakref.WeakSet()
    # Part by part, as django_app/config/urls.py includes them. The basics come last: their
    # `/{name}` route would take any one-segment path.
    basics.routes.setup_routes(app)
    app.on_shutdown.append(close_websockets)
    return app
