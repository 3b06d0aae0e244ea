"""Reading a query parameter given at most once, checked by shared/runtime/validation.py."""

from aiohttp import web

from shared.runtime.validation import given_once


def query(request: web.Request, name: str, default: str | None = None) -> str | None:
    """The parameter's value, `default` without one, 400 if repeated (get() takes the first)."""
    return given_once(request.query.getall(name, []), name, default)
