"""Background work with Django's Tasks framework: the task, and how a job looks in the API."""

from __future__ import annotations  # TaskResult[...]: generic in django-stubs only

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from django.tasks import TaskResult, TaskResultStatus, task

from shared.runtime.concurrency import JobStatus

STATUSES: Mapping[TaskResultStatus, JobStatus] = {
    TaskResultStatus.READY: "pending",
    TaskResultStatus.RUNNING: "running",
    TaskResultStatus.SUCCESSFUL: "done",
    TaskResultStatus.FAILED: "failed",
}


@task
async def run_job(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


def job_json(result: TaskResult[Any, Any]) -> dict[str, str | float]:
    # django-tasks-db gives a job's UUID in its dashed form; aiohttp's job ids are 32 hex digits.
    job_id = uuid.UUID(result.id).hex
    return {"id": job_id, "status": STATUSES[result.status], "seconds": result.kwargs["seconds"]}
