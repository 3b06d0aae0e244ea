"""Websocket routes, in the same order as aiohttp_app/basics/routes.py."""

from django.urls import path

from django_app.basics import consumers

websocket_urlpatterns = [
    path("ws/echo", consumers.EchoConsumer.as_asgi(), name="ws-echo"),
    path("ws/greet", consumers.GreetConsumer.as_asgi(), name="ws-greet"),
]
