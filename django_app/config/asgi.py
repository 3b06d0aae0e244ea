"""The ASGI application: Django's HTTP handler and Channels' websocket router."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.config.settings")
# Set Django up before importing anything that uses models.
django_asgi_app = get_asgi_application()

from django_app.basics.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
