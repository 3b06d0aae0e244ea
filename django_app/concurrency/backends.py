"""The Tasks backend Django leaves to us: a queue in the database, run by a worker process."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.tasks import Task, TaskResult
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.exceptions import TaskResultDoesNotExist
from django.tasks.signals import task_enqueued

from django_app.concurrency.models import Job


class DatabaseBackend(BaseTaskBackend):
    """Enqueue a Task as a Job row; `python -m django_app worker` claims and runs it.

    Django ships the Tasks API and two backends: ImmediateBackend runs the task inside
    enqueue(), in the request, before the response; DummyBackend never runs it. Neither a queue
    that outlives the request nor a worker ships with Django: this backend and that command are
    both, kept small (django-tasks' DatabaseBackend and db_worker are the fuller version).
    """

    supports_async_task = True
    supports_get_result = True

    def enqueue(self, task: Task, args: Sequence[Any], kwargs: Mapping[str, Any]) -> TaskResult:
        self.validate_task(task)
        job = Job.objects.create(task_path=task.module_path, args=list(args), kwargs=dict(kwargs))
        return self._enqueued(job)

    async def aenqueue(
        self, task: Task, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> TaskResult:
        self.validate_task(task)
        job = await Job.objects.acreate(
            task_path=task.module_path, args=list(args), kwargs=dict(kwargs)
        )
        return self._enqueued(job)

    def _enqueued(self, job: Job) -> TaskResult:
        result = job.to_result(self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        try:
            return Job.objects.get(pk=result_id).to_result(self.alias)
        except Job.DoesNotExist:
            raise TaskResultDoesNotExist(result_id) from None

    async def aget_result(self, result_id: str) -> TaskResult:
        try:
            return (await Job.objects.aget(pk=result_id)).to_result(self.alias)
        except Job.DoesNotExist:
            raise TaskResultDoesNotExist(result_id) from None
