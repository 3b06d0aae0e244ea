"""saq's worker for queued jobs: `python -m saq aiohttp_app.concurrency.worker.settings -v`."""

import asyncio

from saq.types import Context, PartialTimersDict, SettingsDict

from aiohttp_app.concurrency.jobs import job_queue
from aiohttp_app.settings import from_env

# saq's timers, its defaults but one: a worker looks for the jobs a dead worker left running
# every 2 s, where saq's default is every 60 s.
TIMERS: PartialTimersDict = {"schedule": 1, "worker_info": 10, "sweep": 2, "abort": 1}


async def run_job(ctx: Context, *, seconds: float) -> float:
    """Sleep `seconds`, touching the job each second: its heartbeat (jobs.HEARTBEAT_SECONDS)."""
    job = ctx["job"]
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(left, 1.0))
        await job.update()
    return seconds


def settings() -> SettingsDict[Context]:
    """Read by saq's CLI at start-up: the queue from REDIS_URL and REDIS_PREFIX, as the app's."""
    config = from_env()
    if not config.redis_url:
        raise SystemExit("the jobs worker needs REDIS_URL: without it, jobs run in the app")
    return {
        "queue": job_queue(config),
        "functions": [run_job],
        # Each of its jobs at a time waits for the next job on a connection of its own, out of
        # redis-py's 100 per client: 50 leaves the rest to saq's sweeps, heartbeats and records.
        "concurrency": 50,
        "timers": TIMERS,
    }
