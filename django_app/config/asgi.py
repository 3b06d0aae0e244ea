"""The ASGI application: Django's HTTP handler and Channels' websocket router."""

import os
from typing import cast

from asgiref.typing import ASGI3Application
from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application
from django.urls import re_path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.config.settings")
# Set Django up before importing anything that uses models.
django_asgi_app = get_asgi_application()

from django_app.accounts.routing import websocket_urlpatterns as accounts_ws  # noqa: E402
from django_app.basics.routing import websocket_urlpatterns as basics_ws  # noqa: E402
from django_app.bodies import body_deadline  # noqa: E402
from django_app.concurrency.lifespan import lifespan  # noqa: E402
from django_app.data.uploads import unread_long_bodies  # noqa: E402
from django_app.handshakes import not_found, origin_middleware  # noqa: E402
from django_app.realtime.routing import websocket_urlpatterns as realtime_ws  # noqa: E402

application = ProtocolTypeRouter(
    {
        # POST /files's 413 before a body over the limit is sent (see unread_long_bodies), and
        # a 408 for a body that stops coming (body_deadline); django-stubs types ASGIHandler
        # with plain dicts, not asgiref's TypedDicts.
        "http": body_deadline(unread_long_bodies(cast(ASGI3Application, django_asgi_app))),
        # A foreign Origin gets 403 before any route; the routes part by part, as in urls.py;
        # then a 404 for any other path, where URLRouter would raise. (types-channels' URLRouter
        # takes a pattern type of its own, which django-stubs' path() and re_path() never return.)
        # AuthMiddlewareStack: the session and its user in every consumer's scope, from the
        # handshake's cookie (ws-auth; the chat names a logged-in member by username).
        "websocket": origin_middleware(
            AuthMiddlewareStack(
                URLRouter([*basics_ws, *realtime_ws, *accounts_ws, re_path(r"", not_found)])  # type: ignore[list-item, arg-type]  # see above
            )
        ),
        # Startup and shutdown, from the servers that send them (uvicorn, hypercorn; not daphne).
        "lifespan": lifespan,
    }
)
