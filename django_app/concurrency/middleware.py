"""X-Request-ID and Server-Timing on every response; aiohttp_app's middlewares.py mirrors it."""

import time
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase

from shared.runtime.validation import parse_request_id


class TracedRequest(HttpRequest):
    """A request past RequestIdMiddleware, with what the middlewares set on it (aiohttp_app's
    RequestKeys): the views that read them take one."""

    request_id: str
    passed_middleware: list[str]  # the middlewares the request went through, in order


class RequestIdMiddleware:
    """Asynchronous, like every layer of MIDDLEWARE: a synchronous one would take each request
    out of the event loop into a thread of its own, held until the response (seed 004's
    SyncMiddleware; docs/django-asgi-cost.md measures what it costs)."""

    async_capable = True
    sync_capable = False

    def __init__(
        self, get_response: Callable[[TracedRequest], Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        traced = cast(TracedRequest, request)  # what the next two lines make it
        # META, not request.headers: that builds a mapping of every header on first use, a few
        # dozen calls a request, where this is the one header every request reads.
        traced.request_id = parse_request_id(request.META.get("HTTP_X_REQUEST_ID"))
        traced.passed_middleware = ["request_id"]
        response = await self.get_response(traced)
        response["X-Request-ID"] = traced.request_id
        return response


class ServerTimingMiddleware:
    """Asynchronous, like seed 004's AsyncMiddleware: it runs in the event loop."""

    async_capable = True
    sync_capable = False

    def __init__(
        self, get_response: Callable[[TracedRequest], Awaitable[HttpResponseBase]]
    ) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: TracedRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request.passed_middleware.append("server_timing")
        response = await self.get_response(request)
        milliseconds = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={milliseconds:.1f}"
        return response
