"""GET /items/raw: the items through psycopg or aiosqlite, no ORM; aiohttp_app mirrors it."""

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connection as orm_connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe
from psycopg import AsyncConnection
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from django_app.data.models import Item
from shared.runtime.data import DATABASE_WAIT_SECONDS, parse_page
from shared.runtime.raw import count_sql, item_json, items_sql

TABLE = Item._meta.db_table

# Django has no start-up hook under ASGI to open the pool in: it is made on first use, in the
# server's event loop, and closed by concurrency/lifespan.py where the server sends the lifespan
# shutdown event (elsewhere, the process's exit closes its connections).
_pool: AsyncConnectionPool | None = None


@require_safe
async def raw_items(request: HttpRequest) -> JsonResponse:
    page = parse_page(request.GET.getlist("limit"), [])
    rows: Iterable[Iterable[Any]]
    if orm_connection.vendor == "postgresql":
        async with postgresql(request) as connection, connection.cursor() as cursor:
            await cursor.execute(items_sql(TABLE, "%s"), (page.limit,))
            rows = await cursor.fetchall()
            await cursor.execute(count_sql(TABLE))
            (count,) = await cursor.fetchone() or (0,)
    else:
        # uri=True, as Django opens its own: a NAME may be a `file:` URI (the test runner's).
        async with aiosqlite.connect(settings.DATABASES["default"]["NAME"], uri=True) as sqlite:
            rows = await sqlite.execute_fetchall(items_sql(TABLE, "?"), (page.limit,))
            ((count,),) = await sqlite.execute_fetchall(count_sql(TABLE))
    return JsonResponse({"items": [item_json(row) for row in rows], "count": count})


@asynccontextmanager
async def postgresql(request: HttpRequest) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection of the process's pool under ASGI, whose event loop lives as long as the
    process. Under WSGI, each request runs in an event loop of its own, closed after it (asgiref),
    which a pool's connections and tasks would outlive: one connection, for this request."""
    if isinstance(request, ASGIRequest):
        async with (await pool()).connection() as connection:
            yield connection
    else:
        async with await AsyncConnection.connect(conninfo()) as connection:
            yield connection


async def pool() -> AsyncConnectionPool:
    global _pool
    if _pool is None:
        _pool = AsyncConnectionPool(
            conninfo(),
            min_size=1,
            max_size=int(settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]),
            timeout=DATABASE_WAIT_SECONDS,
            open=False,
        )
    await _pool.open()  # the first time only: again, it does nothing
    return _pool


def conninfo() -> str:
    """The database of settings.DATABASES, as psycopg's connection string."""
    database = settings.DATABASES["default"]
    return make_conninfo(
        dbname=database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=str(database["PORT"]) if database["PORT"] else None,
        connect_timeout=DATABASE_WAIT_SECONDS,
    )


async def aclose() -> None:
    global _pool
    if _pool is not None:
        await _pool.close()
        _pool = None
