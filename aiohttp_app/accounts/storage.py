"""aiohttp-session's storage (Redis with REDIS_URL, else the database; every process sees it),
and its middleware around the views that read the session."""

import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import aiohttp_session
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from aiohttp_session import AbstractStorage, Session
from aiohttp_session.redis_storage import RedisStorage
from redis.asyncio import Redis
from sqlalchemy import delete

from aiohttp_app.accounts.models import SessionRecord
from aiohttp_app.data.db import sessions
from aiohttp_app.settings import Settings
from shared.runtime.accounts import (
    SESSION_COOKIE_NAME,
    SESSION_KEY_PATTERN,
    SESSION_MAX_AGE,
    new_session_key,
)
from shared.runtime.redis_state import redis_client

session_redis: web.AppKey[Redis | None] = web.AppKey("session_redis")  # None without REDIS_URL
session_middleware = web.AppKey("session_middleware", Middleware)  # aiohttp-session's, its storage


def checked_key(key: str | None) -> str | None:
    """The cookie's key if it has the form of this app's keys, else None: no session. Django asks
    its store for any key of 8 characters or more; here a key redis-py cannot encode (a header's
    undecodable bytes, which aiohttp keeps as surrogates) would be a 500."""
    return key if key is not None and SESSION_KEY_PATTERN.fullmatch(key) else None


class RedisSessionStorage(RedisStorage):
    def load_cookie(self, request: web.Request) -> str | None:
        return checked_key(super().load_cookie(request))


# aiohttp-session stores sessions in cookies, Redis or memcached, not in a SQL database: this
# storage keeps them in the sessions table, as Django's default session engine does (the same
# columns as its django_session), so that both of aiohttp-gunicorn's workers find them.
class DatabaseStorage(AbstractStorage):
    def load_cookie(self, request: web.Request) -> str | None:
        return checked_key(super().load_cookie(request))

    async def load_session(self, request: web.Request) -> Session:
        key = self.load_cookie(request)
        if key is not None:
            async with request.app[sessions]() as db:
                record = await db.get(SessionRecord, key)
            # An expired one is none (SQLite keeps no time zone: its dates are UTC, as written).
            if record is not None and record.expire_date.replace(tzinfo=UTC) > datetime.now(UTC):
                data = self._decoder(record.session_data)
                return Session(key, data=data, new=False, max_age=self.max_age)
        return Session(None, data=None, new=True, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        key = session.identity
        async with request.app[sessions].begin() as db:
            if session.empty:  # logged out: the record goes, the cookie is cleared
                if key is not None:
                    await db.execute(delete(SessionRecord).where(SessionRecord.session_key == key))
                self.save_cookie(response, "")
                return
            key = key or new_session_key()
            expire_date = datetime.now(UTC) + timedelta(seconds=session.max_age or SESSION_MAX_AGE)
            data = self._encoder(self._get_session_data(session))
            await db.merge(
                SessionRecord(session_key=key, session_data=data, expire_date=expire_date)
            )
        self.save_cookie(response, key, max_age=session.max_age)


class Cookie(TypedDict):
    """The session cookie's name and attributes, as every storage of aiohttp-session takes them."""

    cookie_name: str
    max_age: int
    httponly: bool
    samesite: str
    secure: bool | None


def setup_sessions(app: web.Application, config: Settings) -> None:
    """aiohttp-session's middleware on the app's storage, for with_session."""
    cookie = Cookie(
        cookie_name=SESSION_COOKIE_NAME,
        max_age=config.session_max_age,
        httponly=True,
        samesite="Lax",
        secure=config.session_cookie_secure or None,
    )
    storage: AbstractStorage
    if config.redis_url:  # a client of its own: part 3's is made later, at start-up
        client = app[session_redis] = redis_client(config.redis_url)
        storage = RedisSessionStorage(client, key_factory=new_session_key, **cookie)
    else:
        app[session_redis] = None
        storage = DatabaseStorage(**cookie)
    # Not aiohttp_session.setup(app, storage), which appends it to the app's middlewares: every
    # request would go through it.
    app[session_middleware] = aiohttp_session.session_middleware(storage)


def with_session(view: Handler) -> Handler:
    """The view inside aiohttp-session's middleware, as Django's with_session wraps a view in its
    session middleware: get_session() and new_session() in the view, the session saved (its
    cookie set or cleared) after it. The views that read the session only: the rest of the app's
    routes never pay for it."""

    @functools.wraps(view)
    async def in_session(request: web.Request) -> web.StreamResponse:
        return await request.app[session_middleware](request, view)

    return in_session


async def sessions_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the sessions' Redis client closed at shutdown."""
    yield
    if (client := app[session_redis]) is not None:
        await client.aclose()
