"""Part 6, patterns: pages, transactions, signals, caches, CPU-bound work, bounded concurrency."""

from aiohttp_app.patterns import routes

__all__ = ["routes"]
