"""The baseline as ASGI: Django's own handler, nothing around it (no Channels)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "compare.bench.baselines.django_hello.settings")
application = get_asgi_application()

# docs/django-asgi-cost.md: without the database's synchronous request signal receivers, Django's
# ASGI handler has no sync receiver to hop to a thread for. Only for a process with no database.
if os.environ.get("BENCH_DJANGO_SIGNALS") == "disconnected":
    from django.core import signals
    from django.db import close_old_connections, reset_queries

    signals.request_started.disconnect(reset_queries)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
