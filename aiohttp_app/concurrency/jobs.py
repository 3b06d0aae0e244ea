"""Background jobs: tasks the app holds and cancels at shutdown; django_app uses Django's Tasks."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web

from shared.runtime.concurrency import JobStatus, Records

logger = logging.getLogger(__name__)


@dataclass
class Job:
    id: str
    seconds: float
    status: JobStatus = "pending"

    @property
    def key(self) -> str:
        return self.id

    def to_json(self) -> dict[str, str | float]:
        return {"id": self.id, "status": self.status, "seconds": self.seconds}


# The records (state.py chooses where they live); the tasks of this process.
jobs = web.AppKey("jobs", Records[Job])
job_tasks = web.AppKey("job_tasks", set[asyncio.Task[None]])


async def run_job(job: Job, records: Records[Job]) -> None:
    try:
        job.status = "running"
        await records.save(job)
        await asyncio.sleep(job.seconds)
        job.status = "done"
    except asyncio.CancelledError:
        job.status = "failed"  # cancelled at shutdown: with Redis, other processes still read it
        raise
    finally:
        await records.save(job)


async def start_job(app: web.Application, seconds: float) -> Job:
    """Start the job after this response: a task on the app's event loop, held by the app."""
    job = Job(uuid.uuid4().hex, seconds)
    await app[jobs].save(job)
    task = asyncio.create_task(run_job(job, app[jobs]))
    app[job_tasks].add(task)  # the event loop keeps only a weak reference to a task
    task.add_done_callback(app[job_tasks].discard)
    return job


async def jobs_context(app: web.Application) -> AsyncIterator[None]:
    app[job_tasks] = set()
    yield
    running = app[job_tasks].copy()
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    logger.info("Cancelled %d running background job(s) at shutdown", len(running))
