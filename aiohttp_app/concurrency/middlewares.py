"""X-Request-ID and Server-Timing on every response; django_app's middleware.py mirrors it."""

import time

from aiohttp import web
from aiohttp.typedefs import Handler

from aiohttp_app.params import header
from shared.runtime.validation import parse_request_id

request_id = web.RequestKey("request_id", str)
started = web.RequestKey("started", float)
passed = web.RequestKey("passed", list[str])  # the middlewares the request went through, in order


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[request_id] = parse_request_id(header(request, "X-Request-ID"))
    request[passed] = ["request_id"]
    return await handler(request)


@web.middleware
async def server_timing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[started] = time.perf_counter()
    request[passed].append("server_timing")
    return await handler(request)


async def send_request_headers(request: web.Request, response: web.StreamResponse) -> None:
    # A streamed response (StreamResponse, SSE) sends its headers in prepare(), inside the
    # handler, before a middleware gets the response back; so the headers are set here, in
    # on_response_prepare, which runs for every response, streamed or not. Django's middleware
    # sets them on the response object, before anything is sent. Without a request id, the
    # request did not reach the middlewares (aiohttp answers an Expect it refuses before them).
    if (id_ := request.get(request_id)) is None:
        return
    milliseconds = (time.perf_counter() - request[started]) * 1000
    response.headers["X-Request-ID"] = id_
    response.headers["Server-Timing"] = f"app;dur={milliseconds:.1f}"
