"""A bare aiohttp hello: no middleware, no state; the bench's aiohttp baseline."""

import argparse
import logging

from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, Anonymous")


async def json_hello(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, async world!"})


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes([web.get("/", hello), web.get("/json", json_hello)])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    args = parser.parse_args()
    # Logged as aiohttp_app/__main__.py logs, access lines included (about half of a hello's
    # cost): the baseline differs from the app by the app's code, not by its log. The Django
    # baseline runs under uvicorn, which logs access lines too.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(create_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
