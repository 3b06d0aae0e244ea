"""Websocket routes, in the same order as aiohttp_app/accounts/routes.py."""

from django.urls import path

from django_app.accounts import consumers

websocket_urlpatterns = [
    path("ws/me", consumers.MeConsumer.as_asgi(), name="ws-me"),  # type: ignore[arg-type]  # not a view
]
