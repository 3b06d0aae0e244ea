"""URL routes, in the same order as aiohttp_app/realtime/routes.py."""

from django.urls import re_path

from django_app.handshakes import websocket_required

urlpatterns = [
    # The websocket route of routing.py, for a plain HTTP request: 426.
    re_path(r"^ws/chat/(?P<room>(?s:.*))$", websocket_required, name="ws-chat"),
]
