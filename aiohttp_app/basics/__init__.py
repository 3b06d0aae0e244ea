"""Part 1, the basics: routing, JSON, awaiting, websockets and routing errors."""

from aiohttp_app.basics import routes

__all__ = ["routes"]
