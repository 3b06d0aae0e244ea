"""The upstream service /fanout calls: `python -m shared.harness.upstream [--host H] [--port P]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import weakref
from collections import OrderedDict
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


CALLS_KEPT = 1000  # the latest client requests' calls, by their X-Request-ID


@dataclass
class Stats:
    """What the service has seen: a client that keeps one pool reuses its connections."""

    requests: int = 0
    connections: int = 0


@dataclass
class Calls:
    """The calls one request of a client made, by the X-Request-ID they carry: how many, the most
    at once, and how many it cancelled (the client closed the connection before the answer)."""

    requests: int = 0
    in_flight: int = 0
    peak: int = 0
    cancelled: int = 0


stats = web.AppKey("stats", Stats)
transports = web.AppKey("transports", weakref.WeakSet[asyncio.BaseTransport])
calls_by_request = web.AppKey("calls_by_request", OrderedDict[str, Calls])


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
    calls = calls_of(request.app, request.headers.get("X-Request-ID", ""))
    calls.requests += 1
    calls.in_flight += 1
    calls.peak = max(calls.peak, calls.in_flight)
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:  # handler_cancellation: the client closed the connection
        calls.cancelled += 1
        raise
    finally:
        calls.in_flight -= 1
    return web.json_response({"delay": delay, "status": status}, status=status)


def calls_of(app: web.Application, request_id: str) -> Calls:
    """The record of a client request's calls, the latest CALLS_KEPT kept."""
    kept = app[calls_by_request]
    if request_id not in kept:
        kept[request_id] = Calls()
        while len(kept) > CALLS_KEPT:
            kept.popitem(last=False)
    return kept[request_id]


async def upstream_stats(request: web.Request) -> web.Response:
    return web.json_response(asdict(request.app[stats]))


async def request_calls(request: web.Request) -> web.Response:
    """What the calls carrying one X-Request-ID did: /fanout's bound and cancellations."""
    calls = request.app[calls_by_request].get(request.match_info["request_id"])
    if calls is None:
        raise ApiError("not_found")
    return web.json_response(asdict(calls))


def create_app() -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[stats] = Stats()
    app[transports] = weakref.WeakSet()
    app[calls_by_request] = OrderedDict()
    app.add_routes(
        [
            web.get("/upstream", upstream),
            web.get("/upstream/stats", upstream_stats),
            web.get("/upstream/calls/{request_id}", request_calls),
        ]
    )
    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.harness.upstream", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", DEFAULT_PORT)))
    args = parser.parse_args()
    # A handler is cancelled when its client closes the connection (by default aiohttp lets it
    # run on): how the service sees the calls a client cancels.
    web.run_app(create_app(), host=args.host, port=args.port, handler_cancellation=True)


if __name__ == "__main__":
    main()
