"""Reading a query parameter given at most once, and a header given any number of times."""

from aiohttp import web

from shared.runtime.validation import given_once


def query(request: web.Request, name: str, default: str | None = None) -> str | None:
    """The parameter's value, `default` without one, 400 if repeated (get() takes the first)."""
    return given_once(request.query.getall(name, []), name, default)


def header(request: web.Request, name: str) -> str | None:
    """The header's value; given more than once, its values joined with "," (RFC 9110 §5.3), as
    Django reads them (get() takes the first). aiohttp's parser refuses a repeated Content-Type
    itself, before the app runs."""
    values = request.headers.getall(name, [])
    return ",".join(values) if values else None
