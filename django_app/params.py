"""Reading a query parameter given at most once, and a header given any number of times."""

from django.http import HttpRequest

from shared.runtime.validation import given_once


def query(request: HttpRequest, name: str, default: str | None = None) -> str | None:
    """The parameter's value, `default` without one, 400 if repeated (get() takes the last)."""
    return given_once(request.GET.getlist(name), name, default)


def header(request: HttpRequest, name: str) -> str | None:
    """The header's value; given more than once, its values joined with "," (RFC 9110 §5.3), as
    Django's ASGI handler (django/core/handlers/asgi.py) and every WSGI server join them."""
    return request.headers.get(name)
