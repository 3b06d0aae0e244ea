"""URL routes, in the same order as aiohttp_app/concurrency/routes.py."""

from django.urls import path

from django_app.concurrency import views

urlpatterns = [
    path("fanout", views.fanout, name="fanout"),
    path("stream", views.stream, name="stream"),
    path("streams/<str:request_id>", views.stream_record, name="stream-record"),
    path("events", views.EventsView.as_view(), name="events"),
    path("events/stream", views.event_stream, name="event-stream"),
    path("events/poll", views.poll, name="event-poll"),
    path("middleware/order", views.middleware_order, name="middleware-order"),
    path("middleware/client", views.middleware_client, name="middleware-client"),
    path("pitfalls/blocking", views.blocking, name="pitfall-blocking"),
    # The behaviour's id, but for one underscore, as aiohttp_app's (which refuses `await`).
    path("pitfalls/missing-await", views.missing_await, name="pitfall-missing_await"),
    path("jobs", views.JobsView.as_view(), name="jobs"),
    path("jobs/<str:job_id>", views.job, name="job"),
    path("heartbeat", views.heartbeat, name="heartbeat"),
]
