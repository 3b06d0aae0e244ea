"""Background jobs: tasks of this process, or saq's queue in Redis; django_app uses Tasks."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import saq
from aiohttp import web
from saq.job import Status

from aiohttp_app.settings import Settings, settings
from shared.runtime.concurrency import JOBS_KEPT, JobStatus, Records
from shared.runtime.redis_state import STATE_TTL_SECONDS
from shared.runtime.validation import DELAY_MAX_SECONDS

logger = logging.getLogger(__name__)

# A queued job's worker touches it every second (worker.py); one untouched for HEARTBEAT_SECONDS
# is a dead worker's, and the next sweep queues it again, up to ATTEMPTS runs in all.
HEARTBEAT_SECONDS = 10
ATTEMPTS = 3
QUEUED_JOB_OPTIONS = {
    "timeout": int(DELAY_MAX_SECONDS) + HEARTBEAT_SECONDS,
    "heartbeat": HEARTBEAT_SECONDS,
    "retries": ATTEMPTS,
    "ttl": STATE_TTL_SECONDS,  # its record, as long as RedisRecords keeps one
}
STATUSES: Mapping[Status, JobStatus] = {
    Status.NEW: "pending",
    Status.QUEUED: "pending",
    Status.ACTIVE: "running",
    Status.ABORTING: "running",
    Status.COMPLETE: "done",
    Status.FAILED: "failed",
    Status.ABORTED: "failed",
}


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


class Jobs:
    """The embedded default: each job a task on this process's event loop, its record in memory,
    cancelled at shutdown (and lost with the process)."""

    def __init__(self) -> None:
        self.records: Records[Job] = Records(JOBS_KEPT)
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self, seconds: float) -> Job:
        """Start the job after this response: a task on the app's event loop, held here."""
        job = Job(uuid.uuid4().hex, seconds)
        await self.records.save(job)
        task = asyncio.create_task(run_job(job, self.records))
        self.tasks.add(task)  # the event loop keeps only a weak reference to a task
        task.add_done_callback(self.tasks.discard)
        return job

    async def get(self, job_id: str) -> Job | None:
        return await self.records.get(job_id)

    async def close(self) -> None:
        running = self.tasks.copy()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        logger.info("Cancelled %d running background job(s) at shutdown", len(running))


class QueuedJobs(Jobs):
    """With REDIS_URL: each job on saq's queue in Redis, run by a worker process of its own
    (worker.py), so it outlives this process; a job its worker died running runs again."""

    def __init__(self, queue: saq.Queue) -> None:
        super().__init__()
        self.queue = queue

    async def start(self, seconds: float) -> Job:
        key = uuid.uuid4().hex
        queued = await self.queue.enqueue("run_job", key=key, seconds=seconds, **QUEUED_JOB_OPTIONS)
        assert queued is not None, f"job {key} was queued already"  # a new UUID: never
        return as_job(queued)

    async def get(self, job_id: str) -> Job | None:
        found = await self.queue.job(job_id)
        return None if found is None else as_job(found)

    async def close(self) -> None:
        await self.queue.disconnect()


jobs = web.AppKey("jobs", Jobs)


def job_queue(config: Settings) -> saq.Queue:
    """The queue of the app and of its worker, under the app's Redis prefix."""
    return saq.Queue.from_url(config.redis_url, name=f"{config.redis_prefix}:aiohttp:jobs")


def as_job(queued: saq.Job) -> Job:
    seconds = float((queued.kwargs or {})["seconds"])
    return Job(queued.key, seconds, STATUSES[queued.status])


async def run_job(job: Job, records: Records[Job]) -> None:
    try:
        job.status = "running"
        await records.save(job)
        await asyncio.sleep(job.seconds)
        job.status = "done"
    except asyncio.CancelledError:
        job.status = "failed"  # cancelled at shutdown
        raise
    finally:
        await records.save(job)


async def jobs_context(app: web.Application) -> AsyncIterator[None]:
    config = app[settings]
    if config.redis_url:
        queue = job_queue(config)
        await queue.connect()
        app[jobs] = QueuedJobs(queue)
    else:
        app[jobs] = Jobs()
    yield
    await app[jobs].close()
