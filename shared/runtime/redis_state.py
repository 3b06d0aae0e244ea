"""State that every process of a target shares through Redis (REDIS_URL), for both apps."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis, RedisError
from redis.asyncio.client import PubSub

from shared.runtime.concurrency import EVENT_BACKLOG, Event, EventLog, Record, Records

logger = logging.getLogger(__name__)

# What no process has touched for a day expires: a crashed process's leftovers, a test run's keys.
STATE_TTL_SECONDS = 24 * 60 * 60

# One script, so one step for Redis: the id, the event in the capped backlog, the wake-up of every
# process's readers. Two publishers can then never push their events out of order.
PUBLISH_EVENT = """
local id = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], id .. ':' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', KEYS[3], id)
return id
"""


def text(reply: bytes | str) -> str:
    """A reply as text. redis-py types replies `bytes | str`; they are bytes from redis_client(),
    which does not set decode_responses."""
    return reply.decode() if isinstance(reply, bytes) else reply


def redis_client(url: str) -> Redis:
    """A client whose requests wait for a free connection: a thousand chat members joining at once
    would otherwise fail past redis-py's 100 (MaxConnectionsError)."""
    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=100, timeout=20))


async def subscribed(redis: Redis, channel: str, *, pattern: bool = False) -> PubSub:
    """A subscription Redis has confirmed: nothing published on `channel` after this is missed."""
    pubsub = redis.pubsub()
    await (pubsub.psubscribe if pattern else pubsub.subscribe)(channel)
    confirmation = await pubsub.get_message(timeout=10)
    if confirmation is None or confirmation["type"] != ("psubscribe" if pattern else "subscribe"):
        await pubsub.aclose()
        raise RuntimeError(f"Redis did not confirm the subscription: {confirmation!r}")
    return pubsub


async def listen(pubsub: PubSub, handle: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
    """A listener task's body: each message to `handle`, for ever, through Redis failures."""
    while True:
        try:
            async for message in pubsub.listen():
                await handle(message)
        except RedisError:  # redis-py reconnects and subscribes again on the next read
            logger.exception("Redis pub/sub failed; listening again in 1 s")
            await asyncio.sleep(1)


class RedisEventLog(EventLog):
    """The event log in Redis: INCR numbers the events, a capped list keeps the backlog, pub/sub
    wakes the readers of every process, which then read the list."""

    def __init__(self, redis: Redis, prefix: str, backlog: int = EVENT_BACKLOG) -> None:
        super().__init__(backlog)
        self.redis = redis
        self.backlog = backlog
        self.last_id_key = f"{prefix}:events:last-id"
        self.backlog_key = f"{prefix}:events:backlog"
        self.channel = f"{prefix}:events:published"
        self._publish = redis.register_script(PUBLISH_EVENT)
        self._starting = asyncio.Lock()
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None

    async def latest(self) -> int:
        return int(await self.redis.get(self.last_id_key) or 0)

    async def after(self, cursor: int) -> list[Event]:
        found = []
        for item in await self.redis.lrange(self.backlog_key, 0, -1):
            number, _, data = text(item).partition(":")
            if int(number) > cursor:
                found.append(Event(int(number), data))
        return found

    async def publish(self, data: str) -> Event:
        keys = [self.last_id_key, self.backlog_key, self.channel]
        number = await self._publish(keys=keys, args=[data, self.backlog, STATE_TTL_SECONDS])
        return Event(int(number), data)

    async def wait(self, cursor: int, seconds: float) -> list[Event]:
        await self.listening()
        return await super().wait(cursor, seconds)

    async def listening(self) -> None:
        """Subscribed, with a listener task, from the first reader on (Django has no start-up
        hook to do it in)."""
        async with self._starting:
            if self._pubsub is None:
                self._pubsub = await subscribed(self.redis, self.channel)
                self._listener = asyncio.create_task(
                    listen(self._pubsub, lambda _: self.wake()), name="event-log-listener"
                )

    async def stop_listening(self) -> None:
        """At shutdown, where the app has a hook for it."""
        if self._listener is not None:
            self._listener.cancel()
            with suppress(asyncio.CancelledError):
                await self._listener
        if self._pubsub is not None:
            await self._pubsub.aclose()


class RedisRecords[R: Record](Records[R]):
    """Records as JSON strings in Redis, each under its own key, expiring a day after its last save
    (where Records keeps the latest `kept`)."""

    def __init__(self, redis: Redis, prefix: str, kind: Callable[..., R]) -> None:
        super().__init__(kept=0)
        self.redis = redis
        self.prefix = prefix
        self.kind = kind

    async def save(self, record: R) -> None:
        text = json.dumps(record.to_json())
        await self.redis.set(f"{self.prefix}:{record.key}", text, ex=STATE_TTL_SECONDS)

    async def get(self, key: str) -> R | None:
        text = await self.redis.get(f"{self.prefix}:{key}")
        return None if text is None else self.kind(**json.loads(text))
