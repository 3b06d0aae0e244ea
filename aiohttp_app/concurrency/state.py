"""What the part keeps, under AppKeys: in this process, or with REDIS_URL in Redis for every one."""

from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from aiohttp_app.concurrency.heartbeat import Heartbeat, RedisHeartbeat, beat
from aiohttp_app.settings import settings
from shared.runtime.concurrency import STREAMS_KEPT, EventLog, Records, StreamRecord
from shared.runtime.redis_state import RedisEventLog, RedisRecords, redis_client

events = web.AppKey("events", EventLog)
streams = web.AppKey("streams", Records[StreamRecord])
redis: web.AppKey[Redis | None] = web.AppKey("redis")  # None without REDIS_URL


async def state_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the event log, the stream records, the ticks (jobs.py keeps the jobs). Each
    worker of a multi-process server (gunicorn) would otherwise answer from its own, so with
    REDIS_URL they live in Redis; django_app/concurrency/state.py makes the same choice."""
    config = app[settings]
    if not config.redis_url:
        app[redis] = None
        app[events] = EventLog()
        app[streams] = Records(STREAMS_KEPT)
        app[beat] = Heartbeat()
        yield
        return
    client = app[redis] = redis_client(config.redis_url)
    prefix = f"{config.redis_prefix}:aiohttp"
    log = app[events] = RedisEventLog(client, prefix)
    app[streams] = RedisRecords(client, f"{prefix}:streams", StreamRecord)
    app[beat] = RedisHeartbeat(client, prefix, config.heartbeat_seconds)
    await log.listening()
    yield
    await log.stop_listening()
    await client.aclose()


async def close_event_streams(app: web.Application) -> None:
    """on_shutdown: event streams end and long polls answer, so shutdown need not wait for them."""
    await app[events].close()
