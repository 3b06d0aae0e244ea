"""`python -m aiohttp_app [--host H] [--port P]`: serve the app with aiohttp's own server."""

import argparse

from aiohttp import web

from aiohttp_app.main import create_app
from aiohttp_app.settings import configure_logging, from_env


def main() -> None:
    settings = from_env()
    parser = argparse.ArgumentParser(prog="python -m aiohttp_app", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    args = parser.parse_args()
    configure_logging()
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
