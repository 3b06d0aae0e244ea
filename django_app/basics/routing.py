"""Websocket routes, in the same order as aiohttp_app/basics/routes.py."""

from django.urls import path

from django_app.basics import consumers

# django-stubs types path()'s view as a Django view, never an ASGI application (Channels' use).
websocket_urlpatterns = [
    path("ws/echo", consumers.EchoConsumer.as_asgi(), name="ws-echo"),  # type: ignore[arg-type]  # not a view
    path("ws/greet", consumers.GreetConsumer.as_asgi(), name="ws-greet"),  # type: ignore[arg-type]  # not a view
]
