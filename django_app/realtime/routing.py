"""Websocket routes, in the same order as aiohttp_app/realtime/routes.py."""

from django.urls import re_path

from django_app.realtime import consumers

websocket_urlpatterns = [
    # Any room, even none or one with a slash or a line feed ((?s) lets . match it): URLRouter
    # raises for a path no route matches, so the consumer takes them all and refuses a bad name
    # with 403. (django-stubs types re_path()'s view as a Django view, never an ASGI
    # application.)
    re_path(r"^ws/chat/(?P<room>(?s:.*))$", consumers.ChatConsumer.as_asgi(), name="ws-chat"),  # type: ignore[arg-type]  # not a view
]
