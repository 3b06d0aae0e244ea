"""The table of part 3: the heartbeat's ticks (django-tasks-db's DBTaskResult keeps the jobs)."""

from django.db import models


class Heartbeat(models.Model):
    """One row, ticked by `python -m django_app heartbeat`, read by GET /heartbeat."""

    ticks = models.PositiveBigIntegerField(default=0)
    last = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.ticks} ticks"

    def to_json(self) -> dict[str, int | str | None]:
        last = self.last.isoformat(timespec="milliseconds") if self.last else None
        return {"ticks": self.ticks, "last": last}
