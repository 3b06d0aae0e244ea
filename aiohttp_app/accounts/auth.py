"""Who the session's user is: django.contrib.auth's aauthenticate, alogin, alogout and aget_user."""

import asyncio
import functools
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp_session import get_session, new_session
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from yarl import URL

from aiohttp_app.accounts.csrf import rotate_token
from aiohttp_app.accounts.models import User
from aiohttp_app.data.db import sessions
from shared.runtime.accounts import ARGON2_MEMORY_COST, ARGON2_PARALLELISM, ARGON2_TIME_COST

USER_ID = "user_id"  # the session's key for its user (Django's: _auth_user_id)

# argon2-cffi (hynek/argon2-cffi, the binding Django's Argon2PasswordHasher uses): Argon2id, the
# winner of the Password Hashing Competition, with Django's cost parameters. Hashing takes tens of
# milliseconds of CPU: it runs in a worker thread (argon2-cffi releases the GIL meanwhile).
hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_COST, parallelism=ARGON2_PARALLELISM
)
# Checked against when the user is unknown, so that an unknown name takes as long to refuse as a
# wrong password (Django's ModelBackend hashes the password given, for the same reason).
UNKNOWN_USER_HASH = hasher.hash("an unknown user's password")


def verify(password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except VerificationError:
        return False


async def authenticate(request: web.Request, username: str, password: str) -> User | None:
    """The user these credentials are, or None: an unknown name and a wrong password alike."""
    async with request.app[sessions]() as db:
        user = await db.scalar(select(User).where(User.username == username))
    password_hash = user.password if user is not None else UNKNOWN_USER_HASH
    if await asyncio.to_thread(verify, password_hash, password) and user is not None:
        return user
    return None


async def login(request: web.Request, user: User) -> None:
    """A new session for the user: a new key, never the one the request came with (a key an
    attacker planted would otherwise be logged in too), as Django's cycle_key."""
    session = await new_session(request)
    session[USER_ID] = user.id
    rotate_token(request)  # a CSRF token of the page before is no longer good


async def logout(request: web.Request) -> None:
    """The session emptied: its record deleted and its cookie cleared when it is saved."""
    session = await get_session(request)
    if not session.new:  # no session, nothing to clear (RedisStorage would store an empty one)
        session.invalidate()


async def get_user(request: web.Request) -> User | None:
    """The session's user, or None (no session, an unknown or expired key, a deleted user)."""
    session = await get_session(request)
    user_id = session.get(USER_ID)
    if not isinstance(user_id, int):
        return None
    async with request.app[sessions]() as db:
        return await db.get(User, user_id)


def login_required(handler: Handler) -> Handler:
    """Django's login_required: no user, and the answer is a redirect to the log-in route, the
    path asked for in `next` (a page's way; /me answers 401 itself)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        if await get_user(request) is None:
            login_url = request.app.router["session"].url_for()
            # As Django quotes `next` (a query's ? and & too); encoded=True: yarl would unquote
            # the ? again.
            location = URL(f"{login_url}?next={quote(request.path_qs, safe='/')}", encoded=True)
            raise web.HTTPFound(location, text="", content_type="text/html")  # Django's: empty
        return await handler(request)

    return wrapper
