"""URL routes, in the same order as django_app/basics/urls.py and routing.py."""

from aiohttp import web

from aiohttp_app.basics import views, websockets


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/", views.hello, name="hello-anonymous"),
            web.get("/json", views.json_hello, name="json"),
            web.get("/delay", views.delay, name="delay"),
            # A websocket opens with GET only (RFC 6455 §4.1): HEAD is a 405 there.
            web.get("/ws/echo", websockets.echo, name="ws-echo", allow_head=False),
            web.get("/ws/greet", websockets.greet, name="ws-greet", allow_head=False),
            web.get("/openapi.json", views.openapi, name="openapi"),
            web.get("/health/live", views.health_live, name="health-live"),
            web.get("/health/ready", views.health_ready, name="health-ready"),
        ]
    )


def setup_fallback_routes(app: web.Application) -> None:
    """After every part's routes (main.py): `/{name}` would take any one-segment path."""
    app.add_routes([web.get("/{name}", views.hello, name="hello")])
