"""A bare aiohttp hello: no middleware, no state; the bench's aiohttp baselines."""

import argparse
import logging

import orjson
import uvloop
from aiohttp import web


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="Hello, Anonymous")


async def json_hello(request: web.Request) -> web.Response:
    return web.json_response({"message": "Hello, async world!"})


async def json_hello_orjson(request: web.Request) -> web.Response:
    # orjson.dumps gives bytes, and json_response's `dumps` must give str: the body instead.
    return web.json_response(body=orjson.dumps({"message": "Hello, async world!"}))


def create_app(*, best: bool = False) -> web.Application:
    app = web.Application()
    json_view = json_hello_orjson if best else json_hello
    app.add_routes([web.get("/", hello), web.get("/json", json_view)])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument(
        "--best", action="store_true", help="uvloop, orjson and no access log (aiohttp-best's)"
    )
    args = parser.parse_args()
    if args.best:
        # What TechEmpower's aiohttp runs with too: the access lines are the proxy's to write.
        web.run_app(
            create_app(best=True), host=args.host, port=args.port, print=None, access_log=None,
            loop=uvloop.new_event_loop(),
        )  # fmt: skip
        return
    # Logged as aiohttp_app/__main__.py logs, access lines included (about half of a hello's
    # cost): the baseline differs from the app by the app's code, not by its log. The Django
    # baseline runs under uvicorn, which logs access lines too.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    web.run_app(create_app(), host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
