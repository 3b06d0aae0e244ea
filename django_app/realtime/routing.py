"""Websocket routes, in the same order as aiohttp_app/realtime/routes.py."""

from django.urls import re_path

from django_app.realtime import consumers

websocket_urlpatterns = [
    # Any room, even none or one with a slash: URLRouter raises for a path no route matches,
    # so the consumer takes them all and refuses a bad name with 403.
    re_path(r"^ws/chat/(?P<room>.*)$", consumers.ChatConsumer.as_asgi(), name="ws-chat"),
]
