"""HTTP handlers; django_app/concurrency/views.py has the same ones, in the same order."""

import asyncio
import time
from contextlib import aclosing
from functools import partial

from aiohttp import hdrs, web

from aiohttp_app.bodies import read_json
from aiohttp_app.concurrency.heartbeat import beat
from aiohttp_app.concurrency.jobs import jobs
from aiohttp_app.concurrency.middlewares import passed, request_id
from aiohttp_app.concurrency.state import events, streams
from aiohttp_app.concurrency.upstream import call_upstream, upstream
from aiohttp_app.params import header, query
from aiohttp_app.settings import dumps, settings
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


async def fanout(request: web.Request) -> web.Response:
    calls = parse_int(query(request, "n"), "n", 1, FANOUT_MAX_CALLS)
    delay = parse_seconds(query(request, "delay", "0"), "delay")
    status = parse_upstream_status(query(request, "status", "200"))
    limit = parse_int(query(request, "limit", str(calls)), "limit", 1, FANOUT_MAX_CALLS)
    failing = parse_int(query(request, "fail", "0"), "fail", 0, FANOUT_MAX_CALLS)
    session, traced = request.app[upstream], request[request_id]
    asks = [failing_call(status) if index < failing else (delay, status) for index in range(calls)]
    started = time.perf_counter()
    results = await gather_bounded(
        [partial(call_upstream, session, wait, code, traced) for wait, code in asks], limit
    )
    elapsed = round(time.perf_counter() - started, 3)
    return web.json_response({"results": results, "elapsed": elapsed}, dumps=request.app[dumps])


async def stream(request: web.Request) -> web.StreamResponse:
    chunks = parse_int(query(request, "chunks"), "chunks", 1, STREAM_MAX_CHUNKS)
    interval = parse_seconds(query(request, "interval", "0"), "interval", STREAM_MAX_INTERVAL)
    record = StreamRecord(request[request_id], chunks)
    response = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "text/plain; charset=utf-8"})
    await response.prepare(request)
    # aiohttp notices a client that went away at the next write, which raises; aclosing() then
    # closes the generator at once. Django cancels the response when the client disconnects.
    try:
        async with aclosing(lines(record, interval, request.app[streams])) as produced:
            async for line in produced:
                await response.write(line.encode())
    except ConnectionResetError:
        return response
    await response.write_eof()
    return response


async def stream_record(request: web.Request) -> web.Response:
    record = await request.app[streams].get(request.match_info["request_id"])
    if record is None:
        raise ApiError("not_found")
    return web.json_response(record.to_json(), dumps=request.app[dumps])


class EventsView(web.View):
    async def post(self) -> web.Response:
        data = await read_json(self.request, EVENT_FIELDS)
        event = await self.request.app[events].publish(data["data"])
        return web.json_response({"id": event.id}, status=201, dumps=self.request.app[dumps])


async def event_stream(request: web.Request) -> web.StreamResponse:
    after = parse_last_event_id(header(request, "Last-Event-ID"))
    log = request.app[events]
    cursor = await log.cursor(after)
    frames = sse_frames(log, cursor, request.app[settings].sse_keepalive_seconds)
    response = web.StreamResponse(
        headers={hdrs.CONTENT_TYPE: "text/event-stream", hdrs.CACHE_CONTROL: "no-cache"}
    )
    await response.prepare(request)
    try:
        async with aclosing(frames):
            async for frame in frames:
                await response.write(frame.encode())
    except ConnectionResetError:
        return response
    await response.write_eof()
    return response


async def poll(request: web.Request) -> web.Response:
    after = parse_int(query(request, "after"), "after", 0)
    timeout = parse_seconds(query(request, "timeout", "30"), "timeout", POLL_MAX_SECONDS)
    log = request.app[events]
    found = await log.wait(await log.cursor(after), timeout)
    if not found:
        return web.Response(status=204)
    return web.json_response(
        {"events": [event.to_json() for event in found]}, dumps=request.app[dumps]
    )


async def middleware_order(request: web.Request) -> web.Response:
    return web.json_response({"order": request[passed]}, dumps=request.app[dumps])


async def middleware_client(request: web.Request) -> web.Response:
    return web.json_response(
        {"address": request.remote, "scheme": request.scheme}, dumps=request.app[dumps]
    )


async def blocking(request: web.Request) -> web.Response:
    seconds = parse_seconds(query(request, "seconds"), maximum=BLOCKING_MAX_SECONDS)
    # THE ANTI-PATTERN: time.sleep blocks the event loop, and every other request with it.
    time.sleep(seconds)  # noqa: ASYNC251
    return web.json_response({"slept": seconds}, dumps=request.app[dumps])


async def missing_await(request: web.Request) -> web.Response:
    # THE BUG: without `await`, this only creates a coroutine, which is dropped at once: nothing
    # sleeps, the handler answers now, and Python warns "coroutine 'sleep' was never awaited".
    asyncio.sleep(1)  # type: ignore[unused-coroutine]  # the pitfall itself, on purpose
    return web.json_response({"status": "done"}, dumps=request.app[dumps])


class JobsView(web.View):
    async def post(self) -> web.Response:
        data = await read_json(self.request, JOB_FIELDS)
        job = await self.request.app[jobs].start(data["seconds"])
        location = self.request.app.router["job"].url_for(job_id=job.id)
        headers = {hdrs.LOCATION: str(location)}
        return web.json_response(
            job.to_json(), status=202, headers=headers, dumps=self.request.app[dumps]
        )


async def job(request: web.Request) -> web.Response:
    found = await request.app[jobs].get(request.match_info["job_id"])
    if found is None:
        raise ApiError("not_found")
    return web.json_response(found.to_json(), dumps=request.app[dumps])


async def heartbeat(request: web.Request) -> web.Response:
    return web.json_response((await request.app[beat].read()).to_json(), dumps=request.app[dumps])
