"""`python -m django_app task_worker --worker-id ID`: db_worker, re-running what it died running."""

from typing import Any

from django.db import transaction
from django.tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult


class Command(db_worker.Command):
    help = (
        "django-tasks-db's db_worker, which first queues again the tasks it was running when it"
        " last stopped without finishing them (killed outright): give it the same --worker-id"
        " each time it starts. Tasks run at least once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"]
        # db_worker marks a task RUNNING, with its worker id, when it claims it, and has no
        # lease: a worker killed outright would leave the task running for good.
        with transaction.atomic():
            running = DBTaskResult.objects.running().select_for_update()
            lost = [result.pk for result in running if result.worker_ids[-1:] == [worker_id]]
            DBTaskResult.objects.filter(pk__in=lost).update(
                status=TaskResultStatus.READY, started_at=None
            )
        if lost:
            self.stdout.write(f"Worker {worker_id} queued again {len(lost)} lost task(s)")
        super().handle(*args, **options)
