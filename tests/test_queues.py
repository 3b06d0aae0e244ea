"""The lock behind behaviour `queue`'s tally: without it, updates that await are lost."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext

from shared.runtime.queues import Tally, run_queue


async def test_with_its_lock_the_tally_counts_every_update() -> None:
    tally = Tally()
    await asyncio.gather(*(tally.add() for _ in range(10)))
    assert tally.processed == 10


async def test_without_a_lock_updates_that_await_are_lost() -> None:
    tally = Tally(lock=nullcontext())
    await asyncio.gather(*(tally.add() for _ in range(10)))
    # Each reads 0, awaits while the others read 0 too, and writes 1.
    assert tally.processed == 1


async def test_the_producer_never_runs_more_than_the_queue_s_size_ahead() -> None:
    for items, size in ((100, 10), (3, 10), (50, 1)):
        answer = await run_queue(asyncio.Queue(maxsize=size), items, workers=3)
        assert answer["processed"] == items
        assert answer["peak"] == min(items, size)
