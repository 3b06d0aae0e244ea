"""GET /items/raw: the items through asyncpg or aiosqlite, no ORM; django_app mirrors it."""

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite
import asyncpg
from aiohttp import web

from aiohttp_app.data.db import with_driver
from aiohttp_app.data.models import Item
from aiohttp_app.settings import dumps, settings
from shared.runtime.data import DATABASE_WAIT_SECONDS, parse_page
from shared.runtime.raw import count_sql, item_json, items_sql

TABLE = Item.__tablename__
PLAIN = {"sqlite": "sqlite", "postgresql": "postgresql"}  # the URL without SQLAlchemy's driver


@dataclass(frozen=True)
class RawDatabase:
    """asyncpg's pool on PostgreSQL; on SQLite, the file aiosqlite opens for each request."""

    pool: asyncpg.Pool | None
    sqlite_file: str


raw_database = web.AppKey("raw_database", RawDatabase)


async def raw_items(request: web.Request) -> web.Response:
    page = parse_page(request.query.getall("limit", []), [])
    database = request.app[raw_database]
    rows: Iterable[Iterable[Any]]
    if database.pool is not None:
        async with database.pool.acquire(timeout=DATABASE_WAIT_SECONDS) as connection:
            rows = await connection.fetch(items_sql(TABLE, "$1"), page.limit)
            count = await connection.fetchval(count_sql(TABLE))
    else:
        async with aiosqlite.connect(database.sqlite_file) as sqlite:
            rows = await sqlite.execute_fetchall(items_sql(TABLE, "?"), (page.limit,))
            ((count,),) = await sqlite.execute_fetchall(count_sql(TABLE))
    return web.json_response(
        {"items": [item_json(row) for row in rows], "count": count}, dumps=request.app[dumps]
    )


async def raw_database_context(app: web.Application) -> AsyncIterator[None]:
    url = with_driver(app[settings].database_url, PLAIN)
    if url.get_backend_name() != "postgresql":
        # aiosqlite has no pool: a connection is a file opened, with a thread of its own.
        app[raw_database] = RawDatabase(pool=None, sqlite_file=url.database or "")
        yield
        return
    async with asyncpg.create_pool(
        url.render_as_string(hide_password=False),
        min_size=1,
        max_size=app[settings].database_pool_size,
        timeout=DATABASE_WAIT_SECONDS,
    ) as pool:
        app[raw_database] = RawDatabase(pool=pool, sqlite_file="")
        yield
