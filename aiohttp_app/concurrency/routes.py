"""URL routes, in the same order as django_app/concurrency/urls.py."""

from aiohttp import web

from aiohttp_app.concurrency import views


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/fanout", views.fanout, name="fanout"),
            web.get("/stream", views.stream, name="stream"),
            web.get("/streams/{request_id}", views.stream_record, name="stream-record"),
            web.view("/events", views.EventsView, name="events"),
            web.get("/events/stream", views.event_stream, name="event-stream"),
            web.get("/events/poll", views.poll, name="event-poll"),
            web.get("/middleware/order", views.middleware_order, name="middleware-order"),
            web.get("/middleware/client", views.middleware_client, name="middleware-client"),
            web.get("/pitfalls/blocking", views.blocking, name="pitfall-blocking"),
            # The behaviour's id, but for one underscore: aiohttp refuses a route name with a
            # Python keyword (`await`) between its dashes.
            web.get("/pitfalls/missing-await", views.missing_await, name="pitfall-missing_await"),
            web.view("/jobs", views.JobsView, name="jobs"),
            web.get("/jobs/{job_id}", views.job, name="job"),
            web.get("/heartbeat", views.heartbeat, name="heartbeat"),
        ]
    )
