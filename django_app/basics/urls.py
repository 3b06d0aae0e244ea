"""URL routes, in the same order as aiohttp_app/basics/routes.py."""

from django.urls import path

from django_app.basics import views
from django_app.handshakes import websocket_required

urlpatterns = [
    path("", views.hello, name="hello-anonymous"),
    path("json", views.json_hello, name="json"),
    path("delay", views.delay, name="delay"),
    # The websocket routes of routing.py, for a plain HTTP request: 426.
    path("ws/echo", websocket_required, name="ws-echo"),
    path("ws/greet", websocket_required, name="ws-greet"),
    path("openapi.json", views.openapi, name="openapi"),
    path("health/live", views.health_live, name="health-live"),
    path("health/ready", views.health_ready, name="health-ready"),
]

# After every part's routes (config/urls.py): it would take any one-segment path.
fallback_urlpatterns = [
    path("<str:name>", views.hello, name="hello"),
]
