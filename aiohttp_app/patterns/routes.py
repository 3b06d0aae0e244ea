"""URL routes of part 6, in the same order as django_app/patterns/urls.py."""

from aiohttp import web

from aiohttp_app.patterns import cpu, queue, raw


def setup_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/cpu", cpu.cpu, name="cpu"),
            web.get("/pitfalls/cpu", cpu.pitfall_cpu, name="pitfall-cpu"),
            web.get("/queue", queue.queue, name="queue"),
            web.get("/items/raw", raw.raw_items, name="items-raw"),
        ]
    )
