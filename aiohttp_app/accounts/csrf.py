"""CSRF by double submit, as Django's CsrfViewMiddleware checks it: the cookie and its header."""

import time
from email.utils import formatdate
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from aiohttp_app.params import header
from aiohttp_app.settings import settings
from shared.runtime.csrf import (
    CSRF_COOKIE_AGE,
    CSRF_COOKIE_NAME,
    CSRF_HEADER_NAME,
    SAFE_METHODS,
    cookie_secret,
    mask,
    new_secret,
    token_matches,
)
from shared.runtime.errors import ApiError

CSRF_PROTECTED = "csrf_protected"  # the attribute csrf_protect sets on a class view
# The secret whose cookie the answer sets: a new one, or the request's renewed (Django keeps it
# in request.META["CSRF_COOKIE"], and CSRF_COOKIE_NEEDS_UPDATE has its middleware set it).
renewed_secret = web.RequestKey("renewed_secret", str)


def csrf_protect[View: type[web.View]](view: View) -> View:
    """Django's decorator of the same name: the view's state-changing methods need the check,
    which csrf_middleware makes (no other route pays for it)."""
    setattr(view, CSRF_PROTECTED, True)
    return view


def check_csrf(request: web.Request) -> None:
    """403 csrf_failed unless the request comes from the server's own Origin (when it names one)
    and its X-CSRFToken matches its csrftoken cookie: Django's process_view, in its order."""
    origin = header(request, "Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise ApiError("csrf_failed")
    secret = cookie_secret(request.cookies.get(CSRF_COOKIE_NAME))
    if not token_matches(header(request, CSRF_HEADER_NAME), secret):
        raise ApiError("csrf_failed")


def get_token(request: web.Request) -> str:
    """A masked token of the request's secret (a new secret if it has none, or a malformed one),
    whose cookie the answer sets again: Django's get_token."""
    secret = request.get(renewed_secret) or cookie_secret(request.cookies.get(CSRF_COOKIE_NAME))
    request[renewed_secret] = secret or new_secret()
    return mask(request[renewed_secret])


def rotate_token(request: web.Request) -> None:
    """A new secret, its cookie set by the answer: at log-in, as Django's alogin does."""
    request[renewed_secret] = new_secret()


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    protected: Any = getattr(request.match_info.handler, CSRF_PROTECTED, False)
    if protected and request.method not in SAFE_METHODS:
        check_csrf(request)
    response = await handler(request)
    if (secret := request.get(renewed_secret)) is not None:
        response.set_cookie(
            CSRF_COOKIE_NAME,
            secret,
            max_age=CSRF_COOKIE_AGE,
            expires=formatdate(time.time() + CSRF_COOKIE_AGE, usegmt=True),  # as Django sets it
            path="/",
            samesite="Lax",
            secure=request.app[settings].session_cookie_secure or None,
        )
    return response
