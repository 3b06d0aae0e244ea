"""URL routes of part 6, in the same order as aiohttp_app/patterns/routes.py."""

from django.urls import path

from django_app.patterns import cpu, queue, raw

urlpatterns = [
    path("cpu", cpu.cpu, name="cpu"),
    path("pitfalls/cpu", cpu.pitfall_cpu, name="pitfall-cpu"),
    path("queue", queue.queue, name="queue"),
    path("items/raw", raw.raw_items, name="items-raw"),
]
