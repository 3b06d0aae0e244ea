"""A task that ticks every second, started and stopped with the app in cleanup_ctx."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from aiohttp_app.settings import settings


@dataclass
class Beat:
    ticks: int = 0
    last: datetime | None = None

    def to_json(self) -> dict[str, int | str | None]:
        last = self.last.isoformat(timespec="milliseconds") if self.last else None
        return {"ticks": self.ticks, "last": last}


beat = web.AppKey("beat", Beat)


async def tick(state: Beat, interval: float) -> None:
    loop = asyncio.get_running_loop()
    next_tick = loop.time()
    while True:
        next_tick += interval  # on a fixed schedule: a slow tick does not delay the next ones
        await asyncio.sleep(max(0.0, next_tick - loop.time()))
        state.ticks += 1
        state.last = datetime.now(UTC)


async def heartbeat_task(app: web.Application) -> AsyncIterator[None]:
    app[beat] = Beat()
    task = asyncio.create_task(tick(app[beat], app[settings].heartbeat_seconds))
    yield
    task.cancel()
    with suppress(asyncio.CancelledError):
        await task
