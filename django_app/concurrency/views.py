"""HTTP views; aiohttp_app/concurrency/views.py has the same ones, in the same order."""

import asyncio
import time
from functools import partial

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.tasks.exceptions import TaskResultDoesNotExist
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_safe

from django_app.bodies import read_json
from django_app.concurrency.middleware import TracedRequest
from django_app.concurrency.models import Heartbeat
from django_app.concurrency.state import events, streams
from django_app.concurrency.tasks import job_json, run_job
from django_app.concurrency.upstream import call_upstream
from django_app.params import header, query
from shared.runtime.concurrency import (
    BLOCKING_MAX_SECONDS,
    EVENT_FIELDS,
    FANOUT_MAX_CALLS,
    JOB_FIELDS,
    POLL_MAX_SECONDS,
    STREAM_MAX_CHUNKS,
    STREAM_MAX_INTERVAL,
    StreamRecord,
    failing_call,
    gather_bounded,
    lines,
    parse_last_event_id,
    parse_upstream_status,
    sse_frames,
)
from shared.runtime.errors import ApiError
from shared.runtime.validation import parse_int, parse_seconds


@require_safe
async def fanout(request: TracedRequest) -> JsonResponse:
    calls = parse_int(query(request, "n"), "n", 1, FANOUT_MAX_CALLS)
    delay = parse_seconds(query(request, "delay", "0"), "delay")
    status = parse_upstream_status(query(request, "status", "200"))
    limit = parse_int(query(request, "limit", str(calls)), "limit", 1, FANOUT_MAX_CALLS)
    failing = parse_int(query(request, "fail", "0"), "fail", 0, FANOUT_MAX_CALLS)
    traced = request.request_id
    asks = [failing_call(status) if index < failing else (delay, status) for index in range(calls)]
    started = time.perf_counter()
    results = await gather_bounded(
        [partial(call_upstream, wait, code, traced) for wait, code in asks], limit
    )
    elapsed = round(time.perf_counter() - started, 3)
    return JsonResponse({"results": results, "elapsed": elapsed})


@require_safe
async def stream(request: TracedRequest) -> StreamingHttpResponse:
    chunks = parse_int(query(request, "chunks"), "chunks", 1, STREAM_MAX_CHUNKS)
    interval = parse_seconds(query(request, "interval", "0"), "interval", STREAM_MAX_INTERVAL)
    record = StreamRecord(request.request_id, chunks)
    # Django's ASGI handler iterates the generator after the view returns, and cancels it when
    # the client disconnects; aiohttp's handler writes each line itself.
    return StreamingHttpResponse(
        lines(record, interval, streams), content_type="text/plain; charset=utf-8"
    )


@require_safe
async def stream_record(request: HttpRequest, request_id: str) -> JsonResponse:
    record = await streams.get(request_id)
    if record is None:
        raise ApiError("not_found")
    return JsonResponse(record.to_json())


class EventsView(View):
    http_method_names = ("post",)  # not OPTIONS, which Django's View would answer itself

    async def post(self, request: HttpRequest) -> JsonResponse:
        data = await read_json(request, EVENT_FIELDS)
        event = await events.publish(data["data"])
        return JsonResponse({"id": event.id}, status=201)


@require_safe
async def event_stream(request: HttpRequest) -> StreamingHttpResponse:
    after = parse_last_event_id(header(request, "Last-Event-ID"))
    cursor = await events.cursor(after)
    frames = sse_frames(events, cursor, settings.SSE_KEEPALIVE_SECONDS)
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
async def poll(request: HttpRequest) -> HttpResponse:
    after = parse_int(query(request, "after"), "after", 0)
    timeout = parse_seconds(query(request, "timeout", "30"), "timeout", POLL_MAX_SECONDS)
    found = await events.wait(await events.cursor(after), timeout)
    if not found:
        return HttpResponse(status=204)
    return JsonResponse({"events": [event.to_json() for event in found]})


@require_safe
async def middleware_order(request: TracedRequest) -> JsonResponse:
    return JsonResponse({"order": request.passed_middleware})


@require_safe
async def middleware_client(request: HttpRequest) -> JsonResponse:
    # The ASGI server's scope: uvicorn rewrites its client and scheme from a trusted proxy.
    return JsonResponse({"address": request.META["REMOTE_ADDR"], "scheme": request.scheme})


@require_safe
async def blocking(request: HttpRequest) -> JsonResponse:
    seconds = parse_seconds(query(request, "seconds"), maximum=BLOCKING_MAX_SECONDS)
    # THE ANTI-PATTERN: time.sleep blocks the event loop, and every other request with it.
    time.sleep(seconds)  # noqa: ASYNC251
    return JsonResponse({"slept": seconds})


@require_safe
async def missing_await(request: HttpRequest) -> JsonResponse:
    # THE BUG: without `await`, this only creates a coroutine, which is dropped at once: nothing
    # sleeps, the view answers now, and Python warns "coroutine 'sleep' was never awaited".
    asyncio.sleep(1)  # type: ignore[unused-coroutine]  # the pitfall itself, on purpose
    return JsonResponse({"status": "done"})


class JobsView(View):
    http_method_names = ("post",)

    async def post(self, request: HttpRequest) -> JsonResponse:
        data = await read_json(request, JOB_FIELDS)
        body = job_json(await run_job.aenqueue(seconds=data["seconds"]))
        response = JsonResponse(body, status=202)
        response["Location"] = reverse("job", args=[body["id"]])
        return response


@require_safe
async def job(request: HttpRequest, job_id: str) -> JsonResponse:
    try:
        body = job_json(await run_job.aget_result(job_id))
    except TaskResultDoesNotExist:
        raise ApiError("not_found") from None
    # django-tasks-db finds a UUID by any of its forms (dashed, braced, upper case); aiohttp
    # finds a job by its one id.
    if body["id"] != job_id:
        raise ApiError("not_found")
    return JsonResponse(body)


@require_safe
async def heartbeat(request: HttpRequest) -> JsonResponse:
    beat = await Heartbeat.objects.filter(pk=1).afirst() or Heartbeat()
    return JsonResponse(beat.to_json())
