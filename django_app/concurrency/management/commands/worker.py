"""`python -m django_app worker`: run the Tasks DatabaseBackend enqueues; Django ships no worker."""

import asyncio
import logging
import signal
import traceback
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.tasks import Task, TaskResultStatus
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from django_app.concurrency.models import Job

logger = logging.getLogger(__name__)


async def claim_next() -> Job | None:
    """The oldest ready job, marked running; None if there is none, or another worker won it."""
    job = await Job.objects.filter(status=TaskResultStatus.READY).order_by("enqueued_at").afirst()
    if job is None:
        return None
    claimed = await Job.objects.filter(pk=job.pk, status=TaskResultStatus.READY).aupdate(
        status=TaskResultStatus.RUNNING, started_at=timezone.now()
    )
    return job if claimed else None


async def execute(job: Job) -> None:
    jobs = Job.objects.filter(pk=job.pk)
    task: Task = import_string(job.task_path)
    try:
        value = await task.acall(*job.args, **job.kwargs)
    except asyncio.CancelledError:
        # Stopped before it finished: back to the queue, for this worker's next run or another's.
        await jobs.aupdate(status=TaskResultStatus.READY, started_at=None)
        logger.info("Put job %s back in the queue", job.pk)
        raise
    except Exception as error:
        await jobs.aupdate(
            status=TaskResultStatus.FAILED,
            finished_at=timezone.now(),
            error_class=f"{type(error).__module__}.{type(error).__qualname__}",
            traceback="".join(traceback.format_exception(error)),
        )
        logger.exception("Job %s failed", job.pk)
    else:
        await jobs.aupdate(
            status=TaskResultStatus.SUCCESSFUL,
            finished_at=timezone.now(),
            return_value=normalize_json(value),
        )


async def work(poll: float, concurrency: int) -> None:
    """Claim and run jobs, up to `concurrency` at once, until SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    running: set[asyncio.Task[None]] = set()
    while not stopping.is_set():
        if len(running) < concurrency and (job := await claim_next()):
            task = asyncio.create_task(execute(job))
            running.add(task)
            task.add_done_callback(running.discard)
            continue
        try:
            async with asyncio.timeout(poll):
                await stopping.wait()
        except TimeoutError:
            pass
    unfinished = list(running)
    for task in unfinished:
        task.cancel()
    await asyncio.gather(*unfinished, return_exceptions=True)


class Command(BaseCommand):
    help = "Run the Tasks enqueued in the database as they come, several at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--poll", type=float, default=0.2, help="seconds between looks")
        parser.add_argument("--concurrency", type=int, default=10, help="jobs run at once")

    def handle(self, *args: Any, poll: float, concurrency: int, **options: Any) -> None:
        self.stdout.write(f"Worker: {concurrency} jobs at once, the queue read every {poll:g} s")
        asyncio.run(work(poll, concurrency))
