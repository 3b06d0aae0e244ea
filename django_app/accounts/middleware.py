"""Django's session and authentication middlewares, around the views of this part only."""

from collections.abc import Callable, Coroutine
from typing import Any, cast

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponseBase

type AsyncView = Callable[..., Coroutine[Any, Any, HttpResponseBase]]


def with_session(view: Callable[..., Any]) -> AsyncView:
    """The view wrapped in SessionMiddleware and AuthenticationMiddleware, as MIDDLEWARE would
    wrap every view: request.session, request.auser(), the cookie set or cleared. Both are
    MiddlewareMixin classes, whose async path runs each hook in a worker thread: in MIDDLEWARE
    they would cost every route of the project two thread hops each (docs/django-asgi-cost.md),
    here only the routes that read the session pay them."""
    # Around an async view, MiddlewareMixin marks itself a coroutine function (django-stubs types
    # its __call__ as returning either): Django's handler awaits it.
    return cast(AsyncView, SessionMiddleware(AuthenticationMiddleware(view)))
