"""`python -m django_app heartbeat`: the periodic task, in its own process beside the server."""

import signal
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import F
from django.utils import timezone

from django_app.concurrency.models import Heartbeat


def stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # SIGTERM (docker stop, shared.harness.targets.Server.stop): exit cleanly


class Command(BaseCommand):
    help = "Tick every HEARTBEAT_SECONDS into the database, where GET /heartbeat reads the ticks."

    def handle(self, *args: Any, **options: Any) -> None:
        signal.signal(signal.SIGTERM, stop)
        interval = settings.HEARTBEAT_SECONDS
        Heartbeat.objects.update_or_create(pk=1, defaults={"ticks": 0, "last": None})
        self.stdout.write(f"Heartbeat: a tick every {interval:g} s", ending="\n")
        next_tick = time.monotonic()
        while True:
            next_tick += interval  # on a fixed schedule: a slow tick does not delay the next ones
            time.sleep(max(0.0, next_tick - time.monotonic()))
            Heartbeat.objects.filter(pk=1).update(ticks=F("ticks") + 1, last=timezone.now())
