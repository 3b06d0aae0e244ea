"""A task that ticks every second, started and stopped with the app in cleanup_ctx."""

import asyncio
import logging
import math
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web
from redis.asyncio import Redis, RedisError

from aiohttp_app.settings import settings
from shared.runtime.redis_state import STATE_TTL_SECONDS, text

logger = logging.getLogger(__name__)

# Of several processes, the one holding the lock ticks; the lock expires after three missed ticks,
# and another process takes over. Checked, taken and counted in one step for Redis.
TICK = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HINCRBY', KEYS[2], 'ticks', 1)
redis.call('HSET', KEYS[2], 'last', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


@dataclass
class Beat:
    ticks: int = 0
    last: datetime | None = None

    def to_json(self) -> dict[str, int | str | None]:
        last = self.last.isoformat(timespec="milliseconds") if self.last else None
        return {"ticks": self.ticks, "last": last}


class Heartbeat:
    """The ticks of this process (the embedded default)."""

    def __init__(self) -> None:
        self.beat = Beat()

    async def tick(self, now: datetime) -> None:
        self.beat.ticks += 1
        self.beat.last = now

    async def read(self) -> Beat:
        return self.beat


class RedisHeartbeat(Heartbeat):
    """The ticks in a Redis hash, counted by one process at a time: every process reads the same."""

    def __init__(self, redis: Redis, prefix: str, interval: float) -> None:
        super().__init__()
        self.redis = redis
        self.keys = [f"{prefix}:heartbeat:ticker", f"{prefix}:heartbeat"]
        self.holder = uuid.uuid4().hex
        self.lock_ms = math.ceil(3 * interval * 1000)
        self._tick = redis.register_script(TICK)

    async def tick(self, now: datetime) -> None:
        args: list[str | int] = [self.holder, self.lock_ms, now.isoformat(), STATE_TTL_SECONDS]
        try:
            await self._tick(keys=self.keys, args=args)
        except RedisError:
            logger.exception("Heartbeat: Redis failed; trying again at the next tick")

    async def read(self) -> Beat:
        ticks, last = await self.redis.hmget(self.keys[1], ["ticks", "last"])
        return Beat(int(ticks or 0), datetime.fromisoformat(text(last)) if last else None)


beat = web.AppKey("beat", Heartbeat)


async def tick(heartbeat: Heartbeat, interval: float) -> None:
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while True:
        next_tick += interval  # on a fixed schedule: a slow tick does not delay the next ones
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
        await heartbeat.tick(datetime.now(UTC))


async def heartbeat_context(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(tick(app[beat], app[settings].heartbeat_seconds))
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
