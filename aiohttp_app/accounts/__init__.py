"""Part 5, accounts: sign-up, log-in and sessions, CSRF, and authenticated websockets."""

from aiohttp_app.accounts import routes

__all__ = ["routes"]
