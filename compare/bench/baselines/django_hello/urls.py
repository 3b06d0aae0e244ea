"""The baseline's routes; BENCH_DJANGO_VIEWS=sync serves the sync views at the same paths."""

import os

from django.urls import path

from compare.bench.baselines.django_hello import views

SYNC = os.environ.get("BENCH_DJANGO_VIEWS") == "sync"  # under a WSGI server: the bench's
urlpatterns = [
    path("", views.hello_sync if SYNC else views.hello),
    path("json", views.json_sync if SYNC else views.json_hello),
    path("json-sync", views.json_sync),
]
