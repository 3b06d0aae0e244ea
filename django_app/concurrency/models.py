"""The tables of part 3: the heartbeat's ticks and the queue of background jobs (Django's Tasks)."""

from __future__ import annotations  # TaskResult[...]: generic in django-stubs only

import uuid
from typing import Any

from django.db import models
from django.tasks import TaskResult, TaskResultStatus
from django.tasks.base import TaskError
from django.utils.module_loading import import_string


def new_job_id() -> str:
    return uuid.uuid4().hex  # the form of aiohttp_app's job ids


class Heartbeat(models.Model):
    """One row, ticked by `python -m django_app heartbeat`, read by GET /heartbeat."""

    ticks = models.PositiveBigIntegerField(default=0)
    last = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.ticks} ticks"

    def to_json(self) -> dict[str, int | str | None]:
        last = self.last.isoformat(timespec="milliseconds") if self.last else None
        return {"ticks": self.ticks, "last": last}


class Job(models.Model):
    """A Task enqueued by DatabaseBackend and run by `python -m django_app worker`."""

    id = models.CharField(primary_key=True, max_length=32, default=new_job_id)
    task_path = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    status = models.CharField(
        max_length=10, choices=TaskResultStatus.choices, default=TaskResultStatus.READY
    )
    enqueued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    return_value = models.JSONField(null=True)
    error_class = models.CharField(max_length=200, blank=True, default="")  # of a failed run
    traceback = models.TextField(blank=True, default="")

    class Meta:
        indexes = (models.Index(fields=["status", "enqueued_at"]),)

    def __str__(self) -> str:
        return f"{self.task_path} {self.id} ({self.status})"

    def to_result(self, backend: str) -> TaskResult[Any, Any]:
        """The row as the TaskResult Django's Tasks API hands out."""
        errors = [TaskError(exception_class_path=self.error_class, traceback=self.traceback)]
        result: TaskResult[Any, Any] = TaskResult(
            task=import_string(self.task_path),
            id=self.id,
            status=TaskResultStatus(self.status),
            enqueued_at=self.enqueued_at,
            started_at=self.started_at,
            finished_at=self.finished_at,
            last_attempted_at=self.started_at,
            args=self.args,
            kwargs=self.kwargs,
            backend=backend,
            errors=errors if self.error_class else [],
            worker_ids=[],
        )
        # TaskResult has no public setter for it: Django's own backends set it the same way.
        object.__setattr__(result, "_return_value", self.return_value)
        return result
