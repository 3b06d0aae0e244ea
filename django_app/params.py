"""Reading a query parameter given at most once, checked by shared/runtime/validation.py."""

from django.http import HttpRequest

from shared.runtime.validation import given_once


def query(request: HttpRequest, name: str, default: str | None = None) -> str | None:
    """The parameter's value, `default` without one, 400 if repeated (get() takes the last)."""
    return given_once(request.GET.getlist(name), name, default)
