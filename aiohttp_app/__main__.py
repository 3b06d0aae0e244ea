"""`python -m aiohttp_app [--host H] [--port P] [...]`: serve the app with aiohttp's own server."""

import argparse
import asyncio
from dataclasses import replace

import uvloop
from aiohttp import web
from aiohttp.log import access_logger

import aiohttp_app.accounts.models  # noqa: F401  # every part's tables in the metadata
from aiohttp_app.data.db import create_schema_once
from aiohttp_app.main import create_app
from aiohttp_app.settings import EVENT_LOOPS, JSON_ENCODERS, configure_logging, from_env


def main() -> None:
    settings = from_env()
    parser = argparse.ArgumentParser(prog="python -m aiohttp_app", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--loop",
        choices=EVENT_LOOPS,
        default=settings.event_loop,
        help="the event loop web.run_app runs on (EVENT_LOOP; default: %(default)s)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=settings.access_log,
        help="aiohttp's access log, a line per request (ACCESS_LOG=0: none)",
    )
    parser.add_argument(
        "--json",
        choices=tuple(JSON_ENCODERS),
        default=settings.json_library,
        help="the library that writes JSON answers (JSON_LIBRARY; default: %(default)s)",
    )
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
    settings = replace(
        settings, event_loop=args.loop, access_log=args.access_log, json_library=args.json
    )
    web.run_app(
        create_app(settings),
        host=args.host,
        port=args.port,
        access_log=access_logger if settings.access_log else None,
        loop=uvloop.new_event_loop() if settings.event_loop == "uvloop" else None,
    )


if __name__ == "__main__":
    main()
