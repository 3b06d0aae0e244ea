"""Part 4, realtime: chat rooms with group broadcast, in one process or across processes."""

from aiohttp_app.realtime import routes

__all__ = ["routes"]
