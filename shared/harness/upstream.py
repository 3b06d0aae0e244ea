"""The upstream service /fanout calls: `python -m shared.harness.upstream [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import weakref
from dataclasses import asdict, dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from shared.harness.targets import Target
from shared.runtime.concurrency import parse_upstream_status
from shared.runtime.errors import ApiError
from shared.runtime.validation import parse_seconds

DEFAULT_PORT = 8083  # `make run` and docker-compose.yml serve it here; the apps' default URL

# Started like a target (shared.harness.targets.Server) by the suite and by `make run`.
SERVICE = Target(
    name="upstream",
    app="aiohttp",
    server="the project's upstream service (aiohttp)",
    command=("{python}", "-m", "shared.harness.upstream", "--host", "{host}", "--port", "{port}"),
    ready_path="/upstream",
)


@dataclass
class Stats:
    """What the service has seen: a client that keeps one pool reuses its connections."""

    requests: int = 0
    connections: int = 0


stats = web.AppKey("stats", Stats)
transports = web.AppKey("transports", weakref.WeakSet[asyncio.BaseTransport])


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return web.json_response(error.body, status=error.status)


async def upstream(request: web.Request) -> web.Response:
    """Sleep `delay` seconds, then answer `status` with {"delay": ..., "status": ...}."""
    delay = parse_seconds(request.query.get("delay", "0"), "delay")
    status = parse_upstream_status(request.query.get("status", "200"))
    seen = request.app[stats]
    seen.requests += 1
    if request.transport is not None and request.transport not in request.app[transports]:
        request.app[transports].add(request.transport)
        seen.connections += 1
    await asyncio.sleep(delay)
    return web.json_response({"delay": delay, "status": status}, status=status)


async def upstream_stats(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[stats]))


def create_app() -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[stats] = Stats()
    app[transports] = weakref.WeakSet()
    app.add_routes([web.get("/upstream", upstream), web.get("/upstream/stats", upstream_stats)])
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.harness.upstream", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    args = parser.parse_args()
    web.run_app(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
