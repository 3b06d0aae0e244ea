"""Part 3, concurrency: fan-out, streams, SSE, long polls, middleware, pitfalls, background work."""

from aiohttp_app.concurrency import routes

__all__ = ["routes"]
