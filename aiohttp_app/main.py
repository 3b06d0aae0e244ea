"""The application factory: middlewares, routes and shared state under AppKeys."""

import weakref

from aiohttp import WSCloseCode, web

from aiohttp_app.middlewares import error_middleware
from aiohttp_app.routes import setup_routes
from aiohttp_app.websockets import websockets


async def close_websockets(app: web.Application) -> None:
    for ws in set(app[websockets]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutdown")


def create_app() -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[websockets] = weakref.WeakSet()
    setup_routes(app)
    app.on_shutdown.append(close_websockets)
    return app
