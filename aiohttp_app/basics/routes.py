"""URL routes, in the same order as django_app/basics/urls.py and routing.py."""

from aiohttp import web

from aiohttp_app.basics import views, websockets


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/", views.hello, name="hello-anonymous"),
            web.get("/json", views.json_hello, name="json"),
            web.get("/delay", views.delay, name="delay"),
            web.get("/ws/echo", websockets.echo, name="ws-echo"),
            web.get("/ws/greet", websockets.greet, name="ws-greet"),
            web.get("/{name}", views.hello, name="hello"),
        ]
    )
