"""CSRF tokens as Django makes them (django/middleware/csrf.py), for aiohttp_app's double submit."""

from __future__ import annotations

import hmac
import secrets
import string

CSRF_COOKIE_NAME = "csrftoken"  # Django's CSRF_COOKIE_NAME
CSRF_HEADER_NAME = "X-CSRFToken"  # Django's CSRF_HEADER_NAME, HTTP_X_CSRFTOKEN
CSRF_COOKIE_AGE = 60 * 60 * 24 * 7 * 52  # Django's CSRF_COOKIE_AGE: a year
CSRF_SECRET_LENGTH = 32
CSRF_TOKEN_LENGTH = 2 * CSRF_SECRET_LENGTH
CSRF_ALLOWED_CHARS = string.ascii_letters + string.digits
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})  # RFC 9110's, as Django's

# The cookie holds a secret; a page gets the secret masked with a new random mask each time
# (Django's _mask_cipher_secret), so that the token in a compressed answer differs every time
# (BREACH). A header may carry either form. Written here, not imported: aiohttp_app does not
# depend on Django. The masking is no cryptography: a per-character shift by the mask.


def new_secret() -> str:
    return "".join(secrets.choice(CSRF_ALLOWED_CHARS) for _ in range(CSRF_SECRET_LENGTH))


def well_formed(token: str) -> bool:
    """32 (a secret) or 64 (a masked token) characters from a-z, A-Z and 0-9."""
    return len(token) in (CSRF_SECRET_LENGTH, CSRF_TOKEN_LENGTH) and all(
        char in CSRF_ALLOWED_CHARS for char in token
    )


def mask(secret: str) -> str:
    key = new_secret()
    pairs = zip(
        (CSRF_ALLOWED_CHARS.index(x) for x in secret),
        (CSRF_ALLOWED_CHARS.index(x) for x in key),
        strict=True,
    )
    return key + "".join(CSRF_ALLOWED_CHARS[(x + y) % len(CSRF_ALLOWED_CHARS)] for x, y in pairs)


def unmask(token: str) -> str:
    """A well-formed token's secret: a 64-character one unmasked, a 32-character one as it is."""
    if len(token) == CSRF_SECRET_LENGTH:
        return token
    key, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    pairs = zip(
        (CSRF_ALLOWED_CHARS.index(x) for x in cipher),
        (CSRF_ALLOWED_CHARS.index(x) for x in key),
        strict=True,
    )
    return "".join(CSRF_ALLOWED_CHARS[x - y] for x, y in pairs)


def cookie_secret(cookie: str | None) -> str | None:
    """The secret of a csrftoken cookie, or None for none or a malformed one."""
    return unmask(cookie) if cookie is not None and well_formed(cookie) else None


def token_matches(token: str | None, secret: str | None) -> bool:
    """Django's _check_token: a cookie and a well-formed header token of the same secret."""
    if secret is None or token is None or not well_formed(token):
        return False
    return hmac.compare_digest(unmask(token), secret)
