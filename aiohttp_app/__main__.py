"""`python -m aiohttp_app [--host H] [--port P]`: serve the app with aiohttp's own server."""

import argparse
import asyncio

from aiohttp import web

import aiohttp_app.accounts.models  # noqa: F401  # every part's tables in the metadata
from aiohttp_app.data.db import create_schema_once
from aiohttp_app.main import create_app
from aiohttp_app.settings import configure_logging, from_env


def main() -> None:
    settings = from_env()
    parser = argparse.ArgumentParser(prog="python -m aiohttp_app", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--create-schema",
        action="store_true",
        help="create the tables missing from DATABASE_URL and exit (Django's `migrate`)",
    )
    args = parser.parse_args()
    configure_logging()
    if args.create_schema:
        asyncio.run(create_schema_once(settings.database_url))
        return
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
