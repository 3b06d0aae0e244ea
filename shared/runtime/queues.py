"""Behaviour `queue`'s producer and consumers on an asyncio.Queue, the same in both apps."""

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

QUEUE_MAX_ITEMS = 10_000
QUEUE_MAX_WORKERS = 50
QUEUE_MAX_SIZE = 1_000


@dataclass
class Tally:
    """The items processed, a count every consumer updates; the lock keeps each update whole."""

    processed: int = 0
    lock: AbstractAsyncContextManager[Any] = field(default_factory=asyncio.Lock)

    async def add(self) -> None:
        async with self.lock:
            processed = self.processed
            # Where the tally is kept elsewhere (a database, Redis), updating it awaits: another
            # consumer runs meanwhile, and without the lock it would read the same count, and
            # one of the two updates would be lost.
            await asyncio.sleep(0)
            self.processed = processed + 1


async def run_queue(queue: asyncio.Queue[int], items: int, workers: int) -> dict[str, int]:
    """Put `items` items on `queue` for `workers` consumers: how many they processed, and the
    most items the queue held at once."""
    tally = Tally()

    async def consume() -> None:
        while True:
            await queue.get()
            await tally.add()
            queue.task_done()

    peak = 0
    async with asyncio.TaskGroup() as group:
        consumers = [group.create_task(consume()) for _ in range(workers)]
        for item in range(items):
            await queue.put(item)  # waits while the queue is full: backpressure
            peak = max(peak, queue.qsize())
        await queue.join()  # until every item put has been processed
        for consumer in consumers:
            consumer.cancel()
    return {"processed": tally.processed, "peak": peak}
