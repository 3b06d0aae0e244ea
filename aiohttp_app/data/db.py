"""SQLAlchemy's asyncio engine for part 2, made and disposed in a cleanup context."""

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, sessionmaker

from aiohttp_app.data.models import Base, Counter
from aiohttp_app.settings import settings
from shared.runtime.data import DATABASE_WAIT_SECONDS

sessions = web.AppKey("sessions", async_sessionmaker[AsyncSession])
# For code that must stay synchronous (see views.find_items): a plain engine on the same database.
sync_sessions = web.AppKey("sync_sessions", sessionmaker[Session])

# DATABASE_URL names the database the way Django's dj-database-url reads it; SQLAlchemy also
# wants the driver: asyncio ones for the app, classic ones for the synchronous engine.
ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def with_driver(database_url: str, drivers: dict[str, str]) -> URL:
    url = make_url(database_url)
    backend = "postgresql" if url.get_backend_name() == "postgres" else url.get_backend_name()
    if backend not in drivers:
        raise ValueError(
            f"DATABASE_URL: unsupported database {backend!r}; use sqlite or postgresql"
        )
    return url.set(drivername=drivers[backend])


def engine_options(url: URL, pool_size: int) -> dict[str, Any]:
    # SQLite: wait up to 20 s for the write lock, as django_app's settings do. PostgreSQL: at
    # most `pool_size` connections (DATABASE_POOL_SIZE), the size of Django's pool there, and
    # DATABASE_WAIT_SECONDS at most for one (asyncpg's connect timeout is `timeout`, psycopg's
    # `connect_timeout`).
    if url.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 20}}
    connect = "timeout" if url.get_driver_name() == "asyncpg" else "connect_timeout"
    return {
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_timeout": DATABASE_WAIT_SECONDS,
        "connect_args": {connect: DATABASE_WAIT_SECONDS},
    }


def use_wal(engine: Engine) -> None:
    """SQLite with a write-ahead log, as django_app's init_command sets: readers never wait."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def set_wal(dbapi_connection: Any, record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


async def create_schema(engine: AsyncEngine) -> None:
    # Django has migrations (`python -m django_app migrate`); this app creates its version-1
    # schema at start-up, and create_all() never alters a table that is already there.
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def create_schema_once(database_url: str) -> None:
    """Before a multi-process server forks (aiohttp_app/gunicorn.py): two workers that both find
    a table missing at the same moment would both create it, and one would fail."""
    url = with_driver(database_url, ASYNC_DRIVERS)
    engine = create_async_engine(url, **engine_options(url, pool_size=1))
    use_wal(engine.sync_engine)
    await create_schema(engine)
    await engine.dispose()


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """The engines for the app's lifetime. The schema is created here if it is missing."""
    async_url = with_driver(app[settings].database_url, ASYNC_DRIVERS)
    sync_url = with_driver(app[settings].database_url, SYNC_DRIVERS)
    pool_size = app[settings].database_pool_size
    engine = create_async_engine(async_url, **engine_options(async_url, pool_size))
    sync_engine = create_engine(sync_url, **engine_options(sync_url, pool_size))
    use_wal(engine.sync_engine)
    use_wal(sync_engine)
    await create_schema(engine)
    app[sessions] = async_sessionmaker(engine, expire_on_commit=False)
    app[sync_sessions] = sessionmaker(sync_engine, expire_on_commit=False)
    yield
    await engine.dispose()
    sync_engine.dispose()


async def get_or_create_counter(session: AsyncSession, name: str) -> Counter:
    """Django's aget_or_create(name=name): INSERT ... ON CONFLICT DO NOTHING, then SELECT."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(Counter).values(name=name, value=0).on_conflict_do_nothing(index_elements=["name"])
    )
    return (await session.scalars(select(Counter).where(Counter.name == name))).one()
