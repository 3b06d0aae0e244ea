"""The baseline as WSGI, for gunicorn's sync worker in the ASGI-cost study."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compare.bench.baselines.django_hello.settings")
application = get_wsgi_application()
