"""The WSGI application: Django's HTTP handler only (WSGI has no websockets)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_app.config.settings")
application = get_wsgi_application()
