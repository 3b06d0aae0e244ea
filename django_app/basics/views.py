"""HTTP views; aiohttp_app/basics/views.py has the same ones, in the same order."""

import asyncio

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from django_app.concurrency.state import redis
from django_app.params import query
from shared.runtime.errors import error_body
from shared.runtime.health import LIVE_BODY, readiness, state_of
from shared.runtime.openapi import MEDIA_TYPE, read_document
from shared.runtime.validation import parse_seconds


@require_safe
async def hello(request: HttpRequest, name: str = "Anonymous") -> HttpResponse:
    return HttpResponse(f"Hello, {name}", content_type="text/plain; charset=utf-8")


@require_safe
async def json_hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Hello, async world!"})


@require_safe
async def delay(request: HttpRequest) -> JsonResponse:
    seconds = parse_seconds(query(request, "seconds"))
    await asyncio.sleep(seconds)
    return JsonResponse({"slept": seconds})


@require_safe
async def openapi(request: HttpRequest) -> HttpResponse:
    return HttpResponse(read_document(), content_type=MEDIA_TYPE)


@require_safe
async def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse(LIVE_BODY)


@require_safe
async def health_ready(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": await state_of("database", sync_to_async(select_one)()),
        "redis": await state_of("redis", redis.ping() if redis else None),
    }
    return JsonResponse(readiness(checks))


def select_one() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


# Django calls its error handlers synchronously, so these three are plain functions.
def bad_request(request: HttpRequest, exception: Exception) -> JsonResponse:
    return JsonResponse(error_body("bad_request"), status=400)


def not_found(request: HttpRequest, exception: Exception) -> JsonResponse:
    return JsonResponse(error_body("not_found"), status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("internal_error"), status=500)
