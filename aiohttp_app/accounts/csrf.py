"""CSRF by double submit, as Django's CsrfViewMiddleware checks it: the cookie and its header."""

import functools
import time
from email.utils import formatdate

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

# The secret whose cookie the answer sets: a new one, or the request's renewed (Django keeps it
# in request.META["CSRF_COOKIE"], and CSRF_COOKIE_NEEDS_UPDATE has its middleware set it).
renewed_secret = web.RequestKey("renewed_secret", str)


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


def set_token_cookie(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The cookie of the secret get_token or rotate_token gave, if either did: Django's
    CsrfViewMiddleware.process_response, which sets it when CSRF_COOKIE_NEEDS_UPDATE."""
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


def csrf_protect(view: Handler) -> Handler:
    """Django's decorator of the same name (CsrfViewMiddleware around one view): the check for
    its state-changing methods, the cookie on its answer. Not a middleware, as Django's is not in
    MIDDLEWARE: no other route pays for it, and no other POST needs a token."""

    @functools.wraps(view)
    async def protected(request: web.Request) -> web.StreamResponse:
        if request.method not in SAFE_METHODS:
            check_csrf(request)
        return set_token_cookie(request, await view(request))

    return protected


def ensure_csrf_cookie(view: Handler) -> Handler:
    """Django's decorator of the same name: the answer sets the CSRF cookie, of the request's
    secret or a new one, whether or not the view asks for a token."""

    @functools.wraps(view)
    async def ensured(request: web.Request) -> web.StreamResponse:
        get_token(request)
        return set_token_cookie(request, await view(request))

    return ensured
