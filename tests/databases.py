"""The suite's databases: a SQLite file per server, or PostgreSQL databases it creates and drops."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

# `python -m tests.databases probe URL` says whether PostgreSQL answers at URL (the Makefile asks
# before it runs the PostgreSQL pass) and, if not, why.

PREFIX = "parity_test"  # every database this suite creates starts with it


def server_url(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, ""))


def probe(url: str) -> str | None:
    """None if PostgreSQL answers at `url` and lets us create databases; else the reason."""
    if urlsplit(url).scheme not in ("postgresql", "postgres"):
        return f"{url!r} is not a postgresql:// URL"
    try:
        with psycopg.connect(server_url(url, "postgres"), connect_timeout=5) as connection:
            can_create = connection.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error as error:
        return f"cannot connect to {url}: {str(error).strip() or type(error).__name__}"
    if not (can_create and can_create[0]):
        return f"the user of {url} may not create databases"
    return None


class Databases:
    """One database per server process: `url_for(instance)` makes it on first use."""

    def __init__(self, directory: Path, postgres_url: str | None = None) -> None:
        self.directory = directory
        self.postgres_url = postgres_url
        self.run = uuid.uuid4().hex[:8]
        self.created: list[str] = []

    @property
    def kind(self) -> str:
        return "postgresql" if self.postgres_url else "sqlite"

    def url_for(self, instance: str) -> str:
        if self.postgres_url is None:
            return f"sqlite:///{self.directory / f'{instance}.sqlite3'}"
        # A name of our own, new for this run: an existing database is never touched.
        name = f"{PREFIX}_{self.run}_{re.sub(r'[^a-z0-9]+', '_', instance.lower())}"[:63]
        if name not in self.created:
            with psycopg.connect(server_url(self.postgres_url, "postgres"), autocommit=True) as db:
                db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            self.created.append(name)
        return server_url(self.postgres_url, name)

    def drop_all(self) -> None:
        """Drop the databases this run created (the servers using them have stopped)."""
        if self.postgres_url is None or not self.created:
            return
        with psycopg.connect(server_url(self.postgres_url, "postgres"), autocommit=True) as db:
            for name in self.created:
                db.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self.created.clear()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "probe":
        print("usage: python -m tests.databases probe postgresql://USER@HOST:PORT", file=sys.stderr)
        return 2
    reason = probe(argv[2])
    if reason is not None:
        print(reason)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
