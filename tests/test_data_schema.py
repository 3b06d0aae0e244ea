"""Each app owns its schema (Django: migrations; aiohttp: create_all); the columns are the same."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, inspect

import aiohttp_app.accounts.models  # noqa: F401  (part 5's tables, in the same Base.metadata)
from aiohttp_app.data.db import SYNC_DRIVERS, with_driver
from aiohttp_app.data.models import Base
from aiohttp_app.patterns import models as patterns_models
from shared.harness.targets import PROJECT_ROOT
from tests.databases import Databases

# Django's table -> the aiohttp app's table with the same columns.
TABLES = {
    "data_item": "items",
    "data_counter": "counters",
    "data_storedfile": "stored_files",
    "django_session": "sessions",  # part 5: aiohttp_app keeps aiohttp-session's sessions there
    "patterns_wallet": "wallets",  # part 6
    "patterns_transfer": "transfers",
    "patterns_auditevent": "audit_events",
}


@pytest.fixture
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    """Two empty databases: SQLite files, or PostgreSQL ones with --database."""
    made = Databases(tmp_path, request.config.getoption("database"))
    yield made
    made.drop_all()


def django_migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "django_app", "migrate", "--noinput"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


def columns(database_url: str, table: str) -> dict[str, Any]:
    """What the database says a table is: its columns, primary key and unique columns."""
    engine = create_engine(with_driver(database_url, SYNC_DRIVERS))
    try:
        found = inspect(engine)
        return {
            "columns": [
                (c["name"], repr(c["type"]), c["nullable"], bool(c.get("identity")))
                for c in found.get_columns(table)
            ],
            "primary key": found.get_pk_constraint(table)["constrained_columns"],
            "unique": unique_columns(engine, table),
        }
    finally:
        engine.dispose()


def unique_columns(engine: Engine, table: str) -> list[tuple[str, ...]]:
    """The column sets with a UNIQUE constraint, however the schema wrote it."""
    if engine.dialect.name != "sqlite":
        found = inspect(engine)
        return sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table))
    # SQLite keeps an inline `UNIQUE` (Django's way) only as an automatic index, which
    # SQLAlchemy's inspector leaves out: ask SQLite itself.
    with engine.connect() as connection:
        indexes = connection.exec_driver_sql(f'PRAGMA index_list("{table}")').all()
        return sorted(
            tuple(row[2] for row in connection.exec_driver_sql(f'PRAGMA index_info("{index[1]}")'))
            for index in indexes
            if index[2] and index[3] == "u"  # unique, made by a UNIQUE constraint
        )


def test_django_migrations_and_aiohttp_create_all_make_the_same_columns(
    databases: Databases,
) -> None:
    django_url, aiohttp_url = databases.url_for("django"), databases.url_for("aiohttp")
    django_migrate(django_url)
    engine = create_engine(with_driver(aiohttp_url, SYNC_DRIVERS))
    assert patterns_models.Wallet.metadata is Base.metadata  # part 6's tables, imported
    Base.metadata.create_all(engine)  # what aiohttp_app.data.db.database() runs at start-up
    engine.dispose()
    for django_table, aiohttp_table in TABLES.items():
        assert columns(django_url, django_table) == columns(aiohttp_url, aiohttp_table), (
            f"{django_table} and {aiohttp_table} differ ({databases.kind})"
        )


def test_the_models_match_the_migrations(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "django_app", "makemigrations", "--check", "--dry-run"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
