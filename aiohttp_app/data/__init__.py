"""Part 2, data: class-based views on SQLAlchemy asyncio, to_thread, counters, files, errors."""

from aiohttp_app.data import routes

__all__ = ["routes"]
