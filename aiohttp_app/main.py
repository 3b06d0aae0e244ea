"""The application factory: middlewares, each part's routes, and shared state under AppKeys."""

import weakref

from aiohttp import WSCloseCode, web

from aiohttp_app import accounts, basics, concurrency, data, patterns, realtime
from aiohttp_app.accounts.storage import sessions_context, setup_sessions
from aiohttp_app.accounts.throttle import throttle_context
from aiohttp_app.basics.middlewares import error_middleware, remember_prepared
from aiohttp_app.basics.websockets import open_websockets
from aiohttp_app.bodies import body_deadline_middleware
from aiohttp_app.concurrency.heartbeat import heartbeat_context
from aiohttp_app.concurrency.jobs import jobs_context
from aiohttp_app.concurrency.middlewares import (
    request_id_middleware,
    send_request_headers,
    server_timing_middleware,
)
from aiohttp_app.concurrency.state import close_event_streams, state_context
from aiohttp_app.concurrency.upstream import upstream_context
from aiohttp_app.data.cache import cache_context, forget_item
from aiohttp_app.data.db import database_context
from aiohttp_app.data.signals import item_changed, setup_signals
from aiohttp_app.forwarded import forwarded_middleware
from aiohttp_app.hosts import host_middleware
from aiohttp_app.patterns.audit import connect_receivers
from aiohttp_app.patterns.cpu import cpu_pool_context
from aiohttp_app.patterns.pages import setup_templates
from aiohttp_app.patterns.raw import raw_database_context
from aiohttp_app.realtime.rooms import rooms_context
from aiohttp_app.settings import JSON_ENCODERS, Settings, dumps, from_env, settings
from shared.runtime.validation import JSON_BODY_MAX_BYTES


async def close_websockets(app: web.Application) -> None:
    for ws in app[open_websockets].copy():  # closing one takes it out of the set
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"Server shutdown")


def create_app(config: Settings | None = None) -> web.Application:
    """The app, with `config` or the settings of the environment."""
    # The host check runs inside the error middleware, which renders its 400 as JSON; the request
    # id and timing middlewares run outside it, so error responses carry their headers. The
    # forwarded middleware hands on a clone of the request, so it comes after those two:
    # on_response_prepare gets the request aiohttp made, which has what they set. The Origin of
    # a websocket handshake is checked in its handler (require_websocket), CSRF and the session
    # around the views that need them (csrf_protect, with_session): no other request pays for
    # them, as in Django, where neither is in MIDDLEWARE.
    app = web.Application(
        middlewares=[
            request_id_middleware,
            server_timing_middleware,
            forwarded_middleware,
            error_middleware,
            body_deadline_middleware,
            host_middleware,
        ],
        client_max_size=JSON_BODY_MAX_BYTES,
        # Request bodies are read as sent, as Django reads them: a Content-Encoding gets the 415
        # of check_content_encoding, and aiohttp's read of the unread rest no decoding error.
        handler_args={"auto_decompress": False},
    )
    app[settings] = config or from_env()
    app[dumps] = JSON_ENCODERS[app[settings].json_library]
    setup_sessions(app, app[settings])  # aiohttp-session's middleware, for the views that need it
    app[open_websockets] = weakref.WeakSet()
    app.on_response_prepare.extend([send_request_headers, remember_prepared])
    setup_templates(app)
    # The items' signals, and their receivers: Django's connect as each app's ready() imports
    # the module of its @receiver functions.
    setup_signals(app)
    app[item_changed].append(forget_item)
    connect_receivers(app)
    # Part by part, as django_app/config/urls.py includes them, the basics first. Their `/{name}`
    # route comes last, as it would take any one-segment path.
    basics.routes.setup_routes(app)
    data.routes.setup_routes(app)
    concurrency.routes.setup_routes(app)
    realtime.routes.setup_routes(app)
    accounts.routes.setup_routes(app)
    patterns.routes.setup_routes(app)
    basics.routes.setup_fallback_routes(app)
    # Each part's resources for the app's lifetime, one `<what it sets up>_context` each: set up
    # in this order at start-up, cleaned up in the reverse order at shutdown.
    app.cleanup_ctx.extend(
        [
            database_context,
            sessions_context,
            throttle_context,
            cache_context,
            rooms_context,
            state_context,
            upstream_context,
            jobs_context,
            heartbeat_context,
            cpu_pool_context,
            raw_database_context,
        ]
    )
    app.on_shutdown.append(close_websockets)
    app.on_shutdown.append(close_event_streams)
    return app
