"""The error middleware (the shared JSON body, as in aiohttp_app); CommonMiddleware in the loop."""

from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import OperationalError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.middleware import common
from psycopg_pool import PoolTimeout

from django_app.bodies import body_timed_out
from shared.runtime.errors import ApiError, error_body


def error_response(error: ApiError) -> JsonResponse:
    """The shared JSON body of `error`, with its status and headers."""
    return JsonResponse(error.body, status=error.status, headers=error.headers)


class ErrorMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(self.get_response):
            markcoroutinefunction(self)

    async def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if body_timed_out(request):
            return error_response(ApiError("request_timeout"))
        response = await self.get_response(request)
        # Django's require_* decorators answer 405 with an empty body; give it the shared one.
        if isinstance(response, HttpResponseNotAllowed):
            not_allowed = JsonResponse(
                error_body("method_not_allowed", method=request.method), status=405
            )
            not_allowed["Allow"] = response["Allow"]
            return not_allowed
        return response

    async def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, ApiError):
            return error_response(exception)
        # psycopg's pool: no connection came free within its timeout (Django wraps the error).
        if isinstance(exception, OperationalError) and isinstance(exception.__cause__, PoolTimeout):
            return error_response(ApiError("database_busy"))
        return None  # Django logs it and calls handler500


class CommonMiddleware(common.CommonMiddleware):
    """Django's CommonMiddleware (Content-Length on every answer but a stream, ALLOWED_HOSTS),
    its two hooks called in the event loop: they do no I/O, and MiddlewareMixin would hand each to
    a thread, two hand-offs a request under ASGI."""

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response: HttpResponseBase | None = self.process_request(request)
        if response is None:  # in async mode (the only one that calls this), a coroutine's
            response = await cast(Awaitable[HttpResponseBase], self.get_response(request))
        return self.process_response(request, response)
